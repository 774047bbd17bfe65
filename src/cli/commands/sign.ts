import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { Layout } from '../../oci/layout.js';
import { imgfactoryVersion } from '../../version.js';
import { signaturesByRepository, writeLookaside } from '../../sign/lookaside.js';
import { signLayout } from '../../sign/sign-layout.js';
import { listOpt, printJson, stringOpt, type Command } from '../command.js';
import { signingKeyFromFile } from './key-flags.js';
import { PASSPHRASE_ENV } from './keys-generate.js';

/** `imgfactory <version>`, the `optional.creator` of our signatures. */
export function signatureCreator(): string {
  return `imgfactory ${imgfactoryVersion()}`;
}

export const signCommand: Command = {
  name: 'sign',
  summary: 'Sign the image in an OCI layout for each identity it is published as',
  help: `Usage: imgfactory sign <oci-layout> --key <secret.asc> --identity <registry/repo:tag>... [options]

Writes one containers/image simple-signing signature per identity (made with the key's
primary key) as the layout's signature attachment, replacing an earlier one.

Options:
  --key <file>             private key (passphrase from $${PASSPHRASE_ENV} or --passphrase-file)
  --identity <ref>         docker reference the image is published as (repeat for each tag)
  --lookaside-dir <dir>    also write the signatures to this lookaside store (the same
                           flag as push, build --push and registry serve),
                           <dir>/<repo path>@sha256=<hex>/signature-<N>
  --tag <name>             which image, when the layout holds several (its tag in index.json)
  --passphrase-file <f>    file holding the key passphrase
  --json                   print the manifest digest and what was written`,
  options: {
    key: { type: 'string' },
    identity: { type: 'string', multiple: true },
    'lookaside-dir': { type: 'string' },
    tag: { type: 'string' },
    'passphrase-file': { type: 'string' },
  },
  minPositionals: 1,
  async run(ctx) {
    const layoutDir = resolve(ctx.cwd, ctx.positionals[0]!);
    const keyFile = stringOpt(ctx, 'key');
    if (keyFile === undefined) throw new UsageError('MISSING_ARGUMENT', 'sign: --key <secret.asc> is required');
    const identities = listOpt(ctx, 'identity');
    if (identities.length === 0) throw new UsageError('MISSING_ARGUMENT', 'sign: give at least one --identity <registry/repo:tag>');
    const key = await signingKeyFromFile(ctx, keyFile);
    const tag = stringOpt(ctx, 'tag');
    const result = await signLayout({
      layout: await Layout.open(layoutDir),
      key,
      identities,
      creator: signatureCreator(),
      now: new Date(),
      ...(tag === undefined ? {} : { tag }),
    });
    const lookaside = stringOpt(ctx, 'lookaside-dir');
    const lookasideFiles: string[] = [];
    if (lookaside !== undefined) {
      for (const [repository, signatures] of signaturesByRepository(result.signatures)) {
        lookasideFiles.push(...(await writeLookaside({ dir: resolve(ctx.cwd, lookaside), repository, manifestDigest: result.manifestDigest, signatures })));
      }
    }
    if (ctx.json) {
      printJson(ctx.io, {
        manifestDigest: result.manifestDigest,
        signer: key.fingerprint,
        identities: result.signatures.map((s) => s.identity),
        attachment: result.attachment.digest,
        lookaside: lookasideFiles,
      });
    } else {
      for (const s of result.signatures) ctx.io.out(`signed ${s.identity}@${result.manifestDigest} with ${key.fingerprint}`);
      for (const f of lookasideFiles) ctx.io.out(`wrote ${f}`);
    }
    return 0;
  },
};
