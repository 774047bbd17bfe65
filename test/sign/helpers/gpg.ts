/**
 * Real GnuPG and skopeo, as a consumer runs them: public keys imported into a throwaway
 * GNUPGHOME, then `skopeo standalone-verify` (containers/image with the gpgme backend).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type RunResult } from '../../../src/exec.js';

export interface GpgHome {
  readonly home: string;
  readonly env: Record<string, string>;
  cleanup(): Promise<void>;
}

export async function gpgHomeWith(publicKeysArmored: readonly string[]): Promise<GpgHome> {
  const home = await mkdtemp(join(tmpdir(), 'imgfactory-gnupg-'));
  const env = { GNUPGHOME: home };
  for (const [i, key] of publicKeysArmored.entries()) {
    const file = join(home, `import-${i}.asc`);
    await writeFile(file, key);
    await run(['gpg', '--batch', '--quiet', '--import', file], { env });
  }
  return {
    home,
    env,
    async cleanup() {
      // gpg may have started an agent or dirmngr for this home: stop only those.
      await run(['gpgconf', '--kill', 'all'], { env, okExitCodes: [1, 2] }).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** `skopeo standalone-verify`; a refusal is exit 1 (returned, not thrown). */
export async function skopeoStandaloneVerify(
  gpg: GpgHome,
  args: { manifest: string; reference: string; fingerprint: string; signature: string },
): Promise<RunResult> {
  return run(['skopeo', 'standalone-verify', args.manifest, args.reference, args.fingerprint, args.signature], {
    env: gpg.env,
    okExitCodes: [1],
  });
}

/** Key IDs of the signature packets in an OpenPGP message, as `gpg --list-packets` reports them. */
export async function gpgSignaturePacketKeyIds(gpg: GpgHome, file: string): Promise<{ onePass: string[]; signature: string[] }> {
  const { stdout } = await run(['gpg', '--batch', '--list-packets', file], { env: gpg.env, okExitCodes: [2] });
  const onePass = [...stdout.matchAll(/^:onepass_sig packet: keyid ([0-9A-F]+)/gm)].map((m) => m[1]!);
  const signature = [...stdout.matchAll(/^:signature packet: algo \d+, keyid ([0-9A-F]+)/gm)].map((m) => m[1]!);
  return { onePass, signature };
}
