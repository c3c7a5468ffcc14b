// Placeholder until its issue lands; replaced by the real command module.
import type { Command } from 'commander';
import { UserError } from '../../core/diagnostics.js';
import type { CliIO } from '../io.js';

export function registerExplain(program: Command, io: CliIO): void {
  program
    .command('explain')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      io.doing = 'explain';
      throw new UserError('explain is not built yet');
    });
}
