import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../../errors.js';
import { exportPublicKey } from '../../pgp/keys.js';
import { writePolicyFiles } from '../../sign/policy-files.js';
import { boolOpt, listOpt, printJson, stringOpt, type Command } from '../command.js';

export const policyCommand: Command = {
  name: 'policy',
  summary: 'Write policy.json and registries.d for podman, skopeo and cri-o',
  help: `Usage: imgfactory policy --key <public.asc>... --registry <host[:port]> --lookaside <url|dir> --out <dir>

Writes <dir>/policy.json (default: reject; images from the registry must be signed by one of
the keys), <dir>/registries.d/<name>.yaml (where the lookaside signatures are) and the keys as
a GPG keyring <dir>/keys/<name>.gpg. Install them as /etc/containers/policy.json and
/etc/containers/registries.d/, or pass --policy and --registries.d to skopeo.

Options:
  --key <file>               trusted public key (repeatable)
  --registry <scope>         host[:port] or host[:port]/namespace
  --lookaside <url|dir>      lookaside base: http(s):// or file:// URL, or a local directory
  --out <dir>                output directory
  --name <name>              base name of the registries.d file and keyring (default: from --registry)
  --key-path <path>          keyPath to write into policy.json, where consumers will install the
                             keyring (default: the written keyring's absolute path)
  --allow-local-transports   also accept images from oci:, dir:, containers-storage: and archives
  --json                     print the written paths`,
  options: {
    key: { type: 'string', multiple: true },
    registry: { type: 'string' },
    lookaside: { type: 'string' },
    out: { type: 'string' },
    name: { type: 'string' },
    'key-path': { type: 'string' },
    'allow-local-transports': { type: 'boolean' },
  },
  async run(ctx) {
    const need = (name: string): string => {
      const v = stringOpt(ctx, name);
      if (v === undefined || v === '') throw new UsageError('MISSING_ARGUMENT', `policy: --${name} is required`);
      return v;
    };
    const keyFiles = listOpt(ctx, 'key');
    if (keyFiles.length === 0) throw new UsageError('MISSING_ARGUMENT', 'policy: give at least one --key <public.asc>');
    const registry = need('registry');
    const lookasideArg = need('lookaside');
    const out = resolve(ctx.cwd, need('out'));
    const lookaside = /^[a-z][a-z0-9+.-]*:\/\//i.test(lookasideArg) ? lookasideArg : pathToFileURL(resolve(ctx.cwd, lookasideArg)).href;
    const parts: Uint8Array[] = [];
    const fingerprints: string[] = [];
    for (const f of keyFiles) {
      const bytes = await readFile(resolve(ctx.cwd, f)).catch((cause: unknown) => {
        throw new UsageError('BAD_OPTION', `--key ${f}: cannot read it`, { cause });
      });
      const key = await exportPublicKey(new Uint8Array(bytes));
      parts.push(key.binary);
      fingerprints.push(key.fingerprint);
    }
    const keyring = new Uint8Array(Buffer.concat(parts));
    const name = stringOpt(ctx, 'name');
    const keyPath = stringOpt(ctx, 'key-path');
    const written = await writePolicyFiles({
      outDir: out,
      registry,
      lookaside,
      keyring,
      allowLocalTransports: boolOpt(ctx, 'allow-local-transports'),
      ...(name === undefined ? {} : { name }),
      ...(keyPath === undefined ? {} : { keyPath }),
    });
    if (ctx.json) {
      printJson(ctx.io, {
        policy: written.policyPath,
        registriesD: written.registriesDPath,
        keyring: written.keyringPath,
        keyPath: written.keyPath,
        fingerprints,
      });
    } else {
      ctx.io.out(`policy.json   ${written.policyPath}`);
      ctx.io.out(`registries.d  ${written.registriesDPath}`);
      ctx.io.out(`keyring       ${written.keyringPath} (${fingerprints.join(', ')})`);
    }
    return 0;
  },
};
