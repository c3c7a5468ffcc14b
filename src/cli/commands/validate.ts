// Placeholder until its issue lands; replaced by the real command module.
import type { Command } from 'commander';
import { UserError } from '../../core/diagnostics.js';
import type { CliIO } from '../io.js';

export function registerValidate(program: Command, io: CliIO): void {
  program
    .command('validate')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      io.doing = 'validate';
      throw new UserError('validate is not built yet');
    });
}
