/**
 * The `<machine>.nspawn` settings file (systemd.nspawn(5)) from an image config: what the image
 * says to run, as whom, where and with which environment. systemd-nspawn reads it next to the
 * image (and importctl/machinectl copy it beside the machine). What nspawn cannot express is
 * returned in `omitted`, never silently dropped. Pure.
 */
import type { ImageConfig } from '../oci/types.js';
import { quoteWord, quoteWords } from './settings-quote.js';

export interface NspawnSettings {
  readonly text: string;
  /** Config fields nspawn settings cannot carry, for the report. */
  readonly omitted: readonly string[];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function nspawnSettings(config: ImageConfig, imageDigest: string): NspawnSettings {
  const c = config.config ?? {};
  const omitted: string[] = [];
  const exec: string[] = ['Boot=no'];
  const argv = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  if (argv.length > 0) {
    const params = quoteWords(argv);
    if (params === undefined) omitted.push('Entrypoint/Cmd (a word quoting cannot carry)');
    else exec.push(`Parameters=${params}`);
  }
  if (c.User !== undefined && c.User !== '') {
    // nspawn's User= names a user only; the group comes from that user's passwd entry.
    const [user, group] = c.User.split(':', 2);
    exec.push(`User=${user}`);
    if (group !== undefined) omitted.push(`User group ${group}`);
  }
  if (c.WorkingDir !== undefined && c.WorkingDir !== '') {
    if (c.WorkingDir.startsWith('/') && quoteWord(c.WorkingDir) === c.WorkingDir) exec.push(`WorkingDirectory=${c.WorkingDir}`);
    else omitted.push(`WorkingDir ${c.WorkingDir}`);
  }
  for (const env of c.Env ?? []) {
    const eq = env.indexOf('=');
    const q = quoteWord(env);
    if (eq <= 0 || !ENV_NAME.test(env.slice(0, eq)) || q === undefined) omitted.push(`Env ${env.slice(0, Math.max(eq, 0)) || env}`);
    else exec.push(`Environment=${q}`);
  }
  if (c.StopSignal !== undefined) {
    if (/^SIG[A-Z0-9+]+$/.test(c.StopSignal)) exec.push(`KillSignal=${c.StopSignal}`);
    else omitted.push(`StopSignal ${c.StopSignal}`);
  }
  // Published ports need nspawn's private network (Port= under [Network]); that is the host's choice.
  for (const port of Object.keys(c.ExposedPorts ?? {}).sort()) omitted.push(`ExposedPorts ${port}`);
  const text = [`# imgfactory export of ${imageDigest}`, '[Exec]', ...exec, ''].join('\n');
  return { text, omitted };
}
