/** The host's apt configuration, read once: the default archive mirrors. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArchiveError } from '../errors.js';
import { parseAptSources, selectArchiveMirrors, type AptSource, type ArchiveMirrors } from './apt-sources.js';

export interface HostMirrorOptions {
  /** apt's configuration directory; `/etc/apt` unless a test points elsewhere. */
  readonly aptDir?: string;
}

/** `{ mirror, securityMirror }` from sources.list and sources.list.d/*.{list,sources}; MIRROR_UNKNOWN if none. */
export async function hostArchiveMirrors(options: HostMirrorOptions = {}): Promise<ArchiveMirrors> {
  const aptDir = options.aptDir ?? '/etc/apt';
  const sources: AptSource[] = [];
  const read = async (file: string, format: 'deb822' | 'list') => {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) sources.push(...parseAptSources(text, format, file));
  };
  await read(join(aptDir, 'sources.list'), 'list');
  const dir = join(aptDir, 'sources.list.d');
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  for (const n of names) {
    if (n.endsWith('.sources')) await read(join(dir, n), 'deb822');
    else if (n.endsWith('.list')) await read(join(dir, n), 'list');
  }
  if (sources.length === 0) {
    throw new ArchiveError('MIRROR_UNKNOWN', `${aptDir}: no apt sources found; pass --mirror`, { details: { aptDir } });
  }
  return selectArchiveMirrors(sources, `${aptDir} sources`);
}
