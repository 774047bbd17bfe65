/** Every CLI command, in the order --help lists them. */
import type { Command } from '../command.js';
import { planCommand } from './plan.js';
import { validateCommand } from './validate.js';

export const commands: readonly Command[] = [validateCommand, planCommand];
