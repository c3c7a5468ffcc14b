// Placeholder until its issue lands; replaced by the real command module.
import type { Command } from 'commander';
import { UserError } from '../../core/diagnostics.js';
import type { CliIO } from '../io.js';

export function registerPlan(program: Command, io: CliIO): void {
  program
    .command('plan')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      io.doing = 'plan';
      throw new UserError('plan is not built yet');
    });
}
