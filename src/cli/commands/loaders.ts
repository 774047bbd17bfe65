/**
 * The command names, each with a loader of its module: the CLI loads only the command it runs.
 * Importing every command (index.ts) loads the whole program — openpgp, the build pipeline,
 * the registry client — which cost ~0.3 s of every run, more than an unchanged `push` itself.
 * Same names and order as index.ts (test/cli/command-loaders.test.ts holds them together).
 */
import type { Command } from '../command.js';

export interface CommandLoader {
  readonly name: string;
  load(): Promise<Command>;
}

export const commandLoaders: readonly CommandLoader[] = [
  { name: 'validate', load: async () => (await import('./validate.js')).validateCommand },
  { name: 'plan', load: async () => (await import('./plan.js')).planCommand },
  { name: 'build', load: async () => (await import('./build.js')).buildCommand },
  { name: 'lock', load: async () => (await import('./lock.js')).lockCommand },
  { name: 'check', load: async () => (await import('./check.js')).checkCommand },
  { name: 'diff', load: async () => (await import('./diff.js')).diffCommand },
  { name: 'archive verify', load: async () => (await import('./archive-verify.js')).archiveVerifyCommand },
  { name: 'audit', load: async () => (await import('./audit.js')).auditCommand },
  { name: 'sign', load: async () => (await import('./sign.js')).signCommand },
  { name: 'verify', load: async () => (await import('./verify.js')).verifyCommand },
  { name: 'policy', load: async () => (await import('./policy.js')).policyCommand },
  { name: 'keys generate', load: async () => (await import('./keys-generate.js')).keysGenerateCommand },
  { name: 'keys export', load: async () => (await import('./keys-export.js')).keysExportCommand },
  { name: 'push', load: async () => (await import('./push.js')).pushCommand },
  { name: 'pull', load: async () => (await import('./pull.js')).pullCommand },
  { name: 'registry serve', load: async () => (await import('./registry-serve.js')).registryServeCommand },
  { name: 'report', load: async () => (await import('./report.js')).reportCommand },
  { name: 'export', load: async () => (await import('./export.js')).exportCommand },
  { name: 'history', load: async () => (await import('./history.js')).historyCommand },
  { name: 'rollback', load: async () => (await import('./rollback.js')).rollbackCommand },
];
