/** Every CLI command, in the order --help lists them. */
import type { Command } from '../command.js';
import { archiveVerifyCommand } from './archive-verify.js';
import { auditCommand } from './audit.js';
import { buildCommand } from './build.js';
import { planCommand } from './plan.js';
import { validateCommand } from './validate.js';
import { keysGenerateCommand } from './keys-generate.js';
import { keysExportCommand } from './keys-export.js';
import { signCommand } from './sign.js';
import { verifyCommand } from './verify.js';
import { policyCommand } from './policy.js';
import { pushCommand } from './push.js';
import { pullCommand } from './pull.js';
import { registryServeCommand } from './registry-serve.js';
import { reportCommand } from './report.js';

export const commands: readonly Command[] = [
  validateCommand,
  planCommand,
  buildCommand,
  archiveVerifyCommand,
  auditCommand,
  signCommand,
  verifyCommand,
  policyCommand,
  keysGenerateCommand,
  keysExportCommand,
  pushCommand,
  pullCommand,
  registryServeCommand,
  reportCommand,
];
