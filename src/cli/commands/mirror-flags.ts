/** --mirror and --security-mirror, checked the same way on every command that takes them. */
import { UsageError } from '../../errors.js';
import { mirrorUrlProblem } from '../../archive/mirror-url.js';
import { stringOpt, type CommandContext } from '../command.js';

/** The two flags as given (undefined when absent); BAD_OPTION naming the flag when one is not a mirror URL. */
export function mirrorFlags(ctx: CommandContext, command?: string): { readonly mirror?: string; readonly securityMirror?: string } {
  const out: { mirror?: string; securityMirror?: string } = {};
  for (const [flag, key] of [
    ['mirror', 'mirror'],
    ['security-mirror', 'securityMirror'],
  ] as const) {
    const value = stringOpt(ctx, flag);
    if (value === undefined) continue;
    const problem = mirrorUrlProblem(value);
    if (problem) throw new UsageError('BAD_OPTION', `${command ? `${command}: ` : ''}--${flag}: ${problem}`, { details: { flag } });
    out[key] = value;
  }
  return out;
}
