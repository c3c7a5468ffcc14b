// Placeholder until its issue lands; replaced by the real command module.
import type { Command } from 'commander';
import { UserError } from '../../core/diagnostics.js';
import type { CliIO } from '../io.js';

export function registerRun(program: Command, io: CliIO): void {
  program
    .command('run')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      io.doing = 'run';
      throw new UserError('run is not built yet');
    });
}
