import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** imgfactory's own version, from package.json (works from src/ under tests and from dist/). */
export function imgfactoryVersion(): string {
  cached ??= (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return cached;
}
