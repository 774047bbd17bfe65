/** Write the consumer configuration built by `buildPolicy`, each file atomically. */
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../atomic-file.js';
import { join, resolve } from 'node:path';
import { buildPolicy, defaultPolicyName, validatePolicyScope, type PolicyFiles, type PolicyInput } from './policy.js';

export interface WritePolicyFilesOptions extends Omit<PolicyInput, 'keyPath'> {
  readonly outDir: string;
  /** Trusted public keys, binary, concatenated (a GPG keyring file). */
  readonly keyring: Uint8Array;
  /** Where consumers will find the keyring (default: the written file's absolute path). */
  readonly keyPath?: string;
}

export interface WrittenPolicyFiles extends PolicyFiles {
  readonly policyPath: string;
  readonly registriesDDir: string;
  readonly registriesDPath: string;
  readonly keyringPath: string;
  readonly keyPath: string;
}

export async function writePolicyFiles(options: WritePolicyFilesOptions): Promise<WrittenPolicyFiles> {
  const outDir = resolve(options.outDir);
  const name = options.name ?? defaultPolicyName(validatePolicyScope(options.registry));
  const keyringPath = join(outDir, 'keys', `${name}.gpg`);
  const keyPath = options.keyPath ?? keyringPath;
  const files = buildPolicy({ ...options, name, keyPath });
  const registriesDDir = join(outDir, 'registries.d');
  const registriesDPath = join(registriesDDir, files.registriesDFile);
  const policyPath = join(outDir, 'policy.json');
  await mkdir(join(outDir, 'keys'), { recursive: true });
  await mkdir(registriesDDir, { recursive: true });
  await writeFileAtomic(keyringPath, options.keyring);
  await writeFileAtomic(registriesDPath, files.registriesDYaml);
  await writeFileAtomic(policyPath, files.policyJson);
  return { ...files, policyPath, registriesDDir, registriesDPath, keyringPath, keyPath };
}
