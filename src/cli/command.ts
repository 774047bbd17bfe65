/** The shape every CLI command has. Commands are plain functions that tests call directly. */
import type { ParseArgsConfig } from 'node:util';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Io {
  /** Result output (stdout). */
  out(text: string): void;
  /** Progress, warnings and errors (stderr). */
  err(text: string): void;
}

export interface CommandContext {
  readonly values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  readonly positionals: readonly string[];
  readonly io: Io;
  /** The process environment, read once by the CLI entry point. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly json: boolean;
}

export interface Command {
  /** `validate`, or a group and verb: `archive verify`. */
  readonly name: string;
  readonly summary: string;
  /** Usage text shown by --help, after the generated first line. */
  readonly help: string;
  readonly options: OptionSpec;
  /** Minimum number of positional arguments. */
  readonly minPositionals?: number;
  run(ctx: CommandContext): Promise<number | void>;
}

export function stringOpt(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function listOpt(ctx: CommandContext, name: string): string[] {
  const v = ctx.values[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

export function boolOpt(ctx: CommandContext, name: string): boolean {
  return ctx.values[name] === true;
}

export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}
