import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { basicCredentials, ENV_USER, type Credentials } from '../../registry/credentials.js';
import { formatBytes, formatRegistryProgress } from '../../registry/progress.js';
import { publishImage } from '../../registry/publish.js';
import { boolOpt, listOpt, printJson, stringOpt, type Command } from '../command.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export const pushCommand: Command = {
  name: 'push',
  summary: 'Push an OCI layout (image, signature, SBOM, provenance) to a registry',
  help: `Usage: imgfactory push <oci-layout> <registry/repo:tag>... [options]

Pushes the image in <oci-layout> to every target: blobs first (skipped when present, mounted
from another repository when possible), then the manifest, then the signature, SBOM and
provenance as OCI artifacts whose subject is the image (listed under the referrers fallback tag
sha256-<hex>), and the tags last. Nothing is tagged if anything fails.

Options:
  --tag <name>           the image's tag inside the layout (when it holds several)
  --lookaside-dir <dir>  also write the image signatures there (containers/image lookaside layout)
  --mount-from <repo>    repository in the same registry that may hold the base layers (repeatable)
  --ca-file <pem>        trust this CA for the registry's TLS certificate
  --insecure             plain HTTP (never used unless asked)
  --username <user>      with --password-stdin: credentials for every target registry

Credentials: IMGFACTORY_REGISTRY_USER/IMGFACTORY_REGISTRY_PASSWORD, else ~/.docker/config.json
(auths, credHelpers, credsStore), else anonymous.`,
  options: {
    tag: { type: 'string' },
    'lookaside-dir': { type: 'string' },
    'mount-from': { type: 'string', multiple: true },
    'ca-file': { type: 'string' },
    insecure: { type: 'boolean' },
    username: { type: 'string' },
    'password-stdin': { type: 'boolean' },
  },
  minPositionals: 2,
  async run(ctx) {
    const [layout, ...targets] = ctx.positionals;
    let credentials: Credentials | undefined;
    if (boolOpt(ctx, 'password-stdin')) {
      const user = stringOpt(ctx, 'username') ?? ctx.env[ENV_USER];
      if (!user) throw new UsageError('MISSING_ARGUMENT', `push: --password-stdin needs --username (or ${ENV_USER})`);
      const password = await readStdin();
      if (!password) throw new UsageError('MISSING_ARGUMENT', 'push: --password-stdin: no password on stdin');
      credentials = basicCredentials(user, password, '--password-stdin');
    } else if (stringOpt(ctx, 'username') !== undefined) {
      throw new UsageError('BAD_OPTION', 'push: --username needs --password-stdin');
    }
    const caFile = stringOpt(ctx, 'ca-file');
    const lookasideDir = stringOpt(ctx, 'lookaside-dir');
    const tag = stringOpt(ctx, 'tag');
    const mountFrom = listOpt(ctx, 'mount-from');
    const result = await publishImage({
      layoutDir: resolve(ctx.cwd, layout!),
      targets,
      env: ctx.env,
      ...(tag ? { ref: tag } : {}),
      ...(boolOpt(ctx, 'insecure') ? { insecure: true } : {}),
      ...(caFile ? { caFile: resolve(ctx.cwd, caFile) } : {}),
      ...(credentials ? { credentials } : {}),
      ...(lookasideDir ? { lookasideDir: resolve(ctx.cwd, lookasideDir) } : {}),
      ...(mountFrom.length > 0 ? { mountFrom } : {}),
      onProgress: (e) => {
        if (ctx.json) return;
        const line = formatRegistryProgress(e);
        if (line) ctx.io.err(line);
      },
    });
    if (ctx.json) {
      printJson(ctx.io, result);
      return 0;
    }
    for (const u of result.lookaside?.unsigned ?? []) ctx.io.err(`warning: no signature in the layout names ${u}`);
    for (const w of result.lookaside?.written ?? []) ctx.io.err(`lookaside: wrote ${w}`);
    for (const t of result.tagged) ctx.io.out(`${t} ${result.manifestDigest}`);
    ctx.io.err(
      `${result.blobsUploaded} blob(s) uploaded (${formatBytes(result.bytesUploaded)}), ${result.blobsMounted} mounted, ` +
        `${result.blobsSkipped} already present; ${result.attachmentsPushed} attachment(s)`,
    );
    return 0;
  },
};
