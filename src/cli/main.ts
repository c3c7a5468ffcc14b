/**
 * The entry point: the only module that calls process.exit. Every verb lives in commands/<verb>.ts
 * and reports through CliIO; a UserError becomes one line and its exit code, anything else is a bug
 * and says so in one line (no stack trace unless DAG_DEBUG is set).
 */
import { Command, CommanderError } from 'commander';
import { UserError } from '../core/diagnostics.js';
import type { CliIO } from './io.js';
import { registerValidate } from './commands/validate.js';
import { registerPlan } from './commands/plan.js';
import { registerRun } from './commands/run.js';
import { registerExplain } from './commands/explain.js';

export function buildProgram(io: CliIO): Command {
  const program = new Command('dag')
    .description('make for date-partitioned data: build only the missing or stale partitions, and say why')
    .version('0.1.0')
    .showHelpAfterError('(run `dag --help` for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  registerValidate(program, io);
  registerPlan(program, io);
  registerRun(program, io);
  registerExplain(program, io);
  for (const command of program.commands) command.exitOverride().configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  return program;
}

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return io.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version exit 0; every other parse problem is a usage error (2), already printed.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UserError) {
      io.stderr(`dag: ${error.message}\n`);
      if (error.hint) io.stderr(`  hint: ${error.hint}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`dag: internal error while ${io.doing}: ${message.split('\n')[0]} — this is a bug in dag\n`);
    if (io.env.DAG_DEBUG && error instanceof Error) io.stderr(`${error.stack}\n`);
    return 2;
  }
}

const io: CliIO = {
  cwd: process.cwd(),
  env: process.env,
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  isTTY: Boolean(process.stdout.isTTY),
  argv: process.argv.slice(2),
  exitCode: 0,
  doing: 'starting',
};

const code = await main(process.argv.slice(2), io);
// Let stdout drain before exiting: piped output must not be cut.
process.stdout.write('', () => process.exit(code));
