/**
 * Running a recipe module. Recipes are code: a recipe may log, call process.exit, throw from a
 * timer, leave an interval running or never settle. So it never runs in the CLI's process. A
 * child `node` process loads it with jiti (TypeScript, `imgfactory` aliased to this copy of the
 * recipe API) and sends back ONE thing over the IPC channel: the default export serialised as
 * JSON. The parent re-parses that JSON and validates it with zod (load.ts); nothing else crosses.
 *
 * - The child's stdout and stderr are pipes: what a recipe prints never reaches the CLI's
 *   stdout (`plan --json` stays JSON); it is passed to `onOutput` (the CLI shows it on stderr).
 * - The recipe must *finish*: the child has to exit on its own (its event loop empty) within the
 *   time limit, so a leftover interval or a promise that never settles is RECIPE_TIMEOUT, and a
 *   timer that throws after the export is still caught.
 * - `process.exit` in a recipe throws instead of exiting, so it is reported as what it is.
 * - The child's environment is the CLI's minus credentials (passphrases, passwords, tokens):
 *   evaluating a recipe must not hand it the signing key's passphrase.
 *
 * This is isolation for robustness, not a sandbox: a recipe still runs with the user's
 * privileges and can read and write files (README: "Recipes are code").
 */
import { spawn } from 'node:child_process';
import { lstat, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecipeError } from '../errors.js';

/** Default time a recipe module has to load and finish (documented in README). */
export const DEFAULT_RECIPE_TIMEOUT_MS = 30_000;
/** The default export's JSON may not be larger than this. */
const MAX_RECIPE_JSON_BYTES = 4 * 1024 * 1024;
/** Recipe output kept for onOutput per stream; the rest is counted, not buffered. */
const MAX_OUTPUT_LINE = 2000;

export interface EvaluateOptions {
  /** Name used in error messages (the recipe's display path). */
  readonly shown: string;
  readonly timeoutMs?: number;
  /** Each line the recipe printed (stdout or stderr). Default: dropped. */
  readonly onOutput?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export type EvaluatedRecipe = { readonly kind: 'value'; readonly value: unknown } | { readonly kind: 'no-default-export' };

const require = createRequire(import.meta.url);
const JITI_CJS = require.resolve('jiti');
const RECIPE_API = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './public.ts' : './public.js', import.meta.url));

/** Environment variable names a recipe never sees. */
const SECRET_ENV = /PASSPHRASE|PASSWORD|PASSWD|TOKEN|SECRET|CREDENTIAL|^IMGFACTORY_REGISTRY_USER$/i;

/**
 * The child's program (CommonJS, run with `node -e`). It reports through process.send only; the
 * first message wins, and the child exits by itself when the recipe leaves nothing running.
 */
const CHILD_PROGRAM = String.raw`
'use strict';
// process.exit goes through process.reallyExit, which the recipe must not reach either: keep the real one.
const reallyExit = process.reallyExit.bind(process);
const realExit = (code) => reallyExit(code);
const firstLine = (e) => String((e && e.message) || e).split('\n')[0].slice(0, 500);
let sent = false;
const send = (m, then) => {
  if (sent && m.kind !== 'error') return;
  sent = true;
  try { process.send(m, then); } catch { then && then(); }
};
const die = (why) => send({ kind: 'error', message: why }, () => realExit(70));
process.on('uncaughtException', (e) => die(firstLine(e)));
process.on('unhandledRejection', (e) => die(firstLine(e)));
process.exit = (code) => { throw new Error('the recipe called process.exit(' + (code === undefined ? '' : code) + ')'); };
process.reallyExit = process.exit;
process.abort = process.exit;
const [jitiPath, apiPath, file, fsCache] = JSON.parse(process.env.IMGFACTORY_RECIPE_CHILD);
delete process.env.IMGFACTORY_RECIPE_CHILD;
const { createJiti } = require(jitiPath);
const jiti = createJiti(file, { alias: { imgfactory: apiPath }, moduleCache: false, fsCache, interopDefault: false });
jiti.import(file).then((mod) => {
  const value = mod && mod.default;
  if (value === undefined) return send({ kind: 'no-default-export' });
  let json;
  try { json = JSON.stringify(value); } catch (e) { return die('the default export is not plain data: ' + firstLine(e)); }
  if (typeof json !== 'string') return die('the default export is not plain data (a ' + typeof value + ')');
  send({ kind: 'value', json });
}, (e) => die(firstLine(e)));
`;

type ChildMessage = { kind: 'value'; json: string } | { kind: 'no-default-export' } | { kind: 'error'; message: string };

let transformCache: Promise<string | false> | undefined;

/**
 * jiti's cache of TypeScript→JavaScript transforms (keyed by the source's hash) saves about
 * two thirds of a recipe's load time. It lives in a directory only this user can write (made
 * 0700, checked to be ours and not a link); otherwise no cache is used, since a planted
 * transform would be code run as this user.
 */
function transformCacheDir(): Promise<string | false> {
  transformCache ??= (async () => {
    const uid = process.getuid?.();
    if (uid === undefined) return false;
    const dir = join(tmpdir(), `imgfactory-recipe-transforms-${uid}`);
    await mkdir(dir, { mode: 0o700 }).catch(() => undefined);
    const st = await lstat(dir).catch(() => undefined);
    return st?.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0 ? dir : false;
  })();
  return transformCache;
}

function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !SECRET_ENV.test(k) && !k.startsWith('NODE_OPTIONS')) env[k] = v;
  return env;
}

function lineSplitter(onLine: (l: string) => void): (chunk: Buffer) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop()!.slice(-MAX_OUTPUT_LINE);
    for (const p of parts) onLine(p.slice(0, MAX_OUTPUT_LINE));
  };
}

/** Load `file` in a child process and return its default export as plain data. */
export async function evaluateRecipeModule(file: string, options: EvaluateOptions): Promise<EvaluatedRecipe> {
  const fsCache = await transformCacheDir();
  const timeoutMs = options.timeoutMs ?? DEFAULT_RECIPE_TIMEOUT_MS;
  const { shown } = options;
  return new Promise<EvaluatedRecipe>((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-warnings', '-e', CHILD_PROGRAM], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...childEnv(), IMGFACTORY_RECIPE_CHILD: JSON.stringify([JITI_CJS, RECIPE_API, file, fsCache]) },
      serialization: 'json',
    });
    let message: ChildMessage | undefined;
    let stderrTail = '';
    let settled = false;
    const finish = (err: RecipeError | undefined, value?: EvaluatedRecipe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(() => {
      finish(
        new RecipeError(
          'RECIPE_TIMEOUT',
          `${shown}: the recipe did not finish within ${timeoutMs / 1000} s (a timer or interval still running, or a promise that never settles)`,
          {
            details: { file: shown, timeoutMs },
          },
        ),
      );
    }, timeoutMs);
    const onAbort = () => finish(new RecipeError('RECIPE_LOAD_FAILED', `${shown}: loading the recipe was interrupted`, { details: { file: shown } }));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const out = options.onOutput ?? (() => undefined);
    child.stdout!.on('data', lineSplitter(out));
    child.stderr!.on(
      'data',
      lineSplitter((l) => {
        stderrTail = l.trim() === '' ? stderrTail : l;
        out(l);
      }),
    );
    child.on('message', (m: ChildMessage) => {
      // The first report wins, except that an error after a value replaces it (a timer threw: the recipe failed).
      if (message === undefined || (m.kind === 'error' && message.kind !== 'error')) message = m;
    });
    child.on('error', (cause) => finish(new RecipeError('RECIPE_LOAD_FAILED', `${shown}: cannot start node to load the recipe (${cause.message})`, { cause })));
    child.on('exit', (code, signal) => {
      const fail = (why: string) => finish(new RecipeError('RECIPE_LOAD_FAILED', `${shown}: ${why}`, { details: { file: shown, exitCode: code, signal } }));
      // Everything from here on is the child's word: check its shape, never let it throw here.
      if (message?.kind === 'error') return fail(typeof message.message === 'string' ? message.message.split('\n')[0]!.slice(0, 500) : 'the recipe failed');
      if (code !== 0 || signal !== null)
        return fail(
          signal
            ? `the recipe's process was killed by ${signal}`
            : `the recipe's process exited with status ${code}${stderrTail ? ` (${stderrTail.slice(0, 200)})` : ''}`,
        );
      if (message === undefined) return fail('the recipe exited before it exported anything');
      if (message.kind === 'no-default-export') return finish(undefined, { kind: 'no-default-export' });
      if (message.kind !== 'value' || typeof message.json !== 'string') return fail('the default export is not plain data');
      if (Buffer.byteLength(message.json) > MAX_RECIPE_JSON_BYTES) return fail(`the default export is larger than ${MAX_RECIPE_JSON_BYTES} bytes`);
      let value: unknown;
      try {
        value = JSON.parse(message.json);
      } catch {
        return fail('the default export is not plain data');
      }
      finish(undefined, { kind: 'value', value });
    });
  });
}
