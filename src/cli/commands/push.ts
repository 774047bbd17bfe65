import { resolve } from 'node:path';
import { formatBytes, formatRegistryProgress } from '../../registry/progress.js';
import { publishImage } from '../../registry/publish.js';
import { interrupted } from '../../registry/retrying.js';
import { listOpt, printJson, stringOpt, type Command } from '../command.js';
import { abortOnSignals } from '../abort-signals.js';
import { REGISTRY_OPTIONS, REGISTRY_OPTIONS_HELP, registryConnectionFromFlags } from './registry-flags.js';

export const pushCommand: Command = {
  name: 'push',
  summary: 'Push an OCI layout (image, signature, SBOM, provenance) to a registry',
  help: `Usage: imgfactory push <oci-layout> <registry/repo:tag>... [options]

Pushes the image in <oci-layout> to every target: blobs first (skipped when present, mounted
from another repository when possible, else uploaded, hashed as they are sent and committed
only if they match their digest), then the manifest, then the signature, SBOM and provenance as
OCI artifacts whose subject is the image (listed under the referrers fallback tag
sha256-<hex>), and the tags last: every tag moves or none does. Nothing is tagged if anything fails; Ctrl-C stops the upload and exits 130.

Options:
  --tag <name>           the image's tag inside the layout (when it holds several)
  --lookaside-dir <dir>  also write the image signatures there (containers/image lookaside layout)
  --mount-from <repo>    repository in the same registry that may hold the base layers (repeatable)
${REGISTRY_OPTIONS_HELP}`,
  options: {
    tag: { type: 'string' },
    'lookaside-dir': { type: 'string' },
    'mount-from': { type: 'string', multiple: true },
    ...REGISTRY_OPTIONS,
  },
  minPositionals: 2,
  async run(ctx) {
    const [layout, ...targets] = ctx.positionals;
    const connection = await registryConnectionFromFlags(ctx, 'push');
    const lookasideDir = stringOpt(ctx, 'lookaside-dir');
    const tag = stringOpt(ctx, 'tag');
    const mountFrom = listOpt(ctx, 'mount-from');
    const { signal, dispose } = abortOnSignals(ctx.io);
    try {
      const result = await publishImage({
        layoutDir: resolve(ctx.cwd, layout!),
        targets,
        env: ctx.env,
        ...connection,
        ...(tag ? { ref: tag } : {}),
        ...(lookasideDir ? { lookasideDir: resolve(ctx.cwd, lookasideDir) } : {}),
        ...(mountFrom.length > 0 ? { mountFrom } : {}),
        signal,
        onProgress: (e) => {
          if (ctx.json) return;
          const line = formatRegistryProgress(e);
          if (line) ctx.io.err(`push: ${line}`);
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
    } catch (e) {
      // Interrupted before the tags moved: whatever step noticed it, no tag moved (exit 130).
      if (signal.aborted) throw interrupted('push: stopped before any tag moved', signal);
      throw e;
    } finally {
      dispose();
    }
  },
};
