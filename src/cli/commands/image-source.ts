/**
 * The one rule that decides whether a command's image argument is a local OCI layout or a
 * registry reference, so that a typo never turns into a download from a public registry:
 *
 *   oci:<path>          always a local layout
 *   docker://<ref>      always a registry reference
 *   an existing path    a local layout
 *   host/repo[:tag]     a registry reference, when the first component names a host
 *                       (contains `.` or `:`, or is `localhost`): there is no default registry
 *   anything else       LAYOUT_NOT_FOUND (exit 2)
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LayoutError } from '../../errors.js';

export type ImageSource = { readonly kind: 'layout'; readonly dir: string } | { readonly kind: 'registry'; readonly reference: string };

export function namesRegistryHost(ref: string): boolean {
  const slash = ref.indexOf('/');
  if (slash <= 0) return false;
  const first = ref.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[');
}

export async function imageSource(arg: string, cwd: string): Promise<ImageSource> {
  if (arg.startsWith('oci:')) return { kind: 'layout', dir: resolve(cwd, arg.slice('oci:'.length)) };
  if (arg.startsWith('docker://')) return { kind: 'registry', reference: arg.slice('docker://'.length) };
  const dir = resolve(cwd, arg);
  if (
    await stat(dir).then(
      () => true,
      () => false,
    )
  )
    return { kind: 'layout', dir };
  if (namesRegistryHost(arg)) return { kind: 'registry', reference: arg };
  throw new LayoutError(
    'LAYOUT_NOT_FOUND',
    `${arg}: no such OCI layout; a registry reference must name its registry host (registry.example:5000/repo:tag or docker://…)`,
  );
}
