/**
 * The program: every verb lives in commands/<verb>.ts
 * and reports through CliIO; a UserError becomes one line and its exit code, a WarehouseError one line
 * and the exit code of its kind, anything else is a bug and says so in one line (no stack trace unless
 * DAG_DEBUG is set).
 */
import { CommanderError, type Command } from 'commander';
import { UserError } from '../core/diagnostics.js';
import { WarehouseError, type WarehouseErrorKind } from '../warehouse/port.js';
import { firstLine } from '../warehouse/shared.js';
import { DagCommand, verbHelp } from './help.js';
import type { CliIO } from './io.js';

type Register = (program: Command, io: CliIO) => void;

/**
 * The verbs in help order. Each module is imported only when needed: a command line names one verb,
 * and importing all of them (config loader, chalk, planner, runner...) cost every invocation ~50 ms.
 */
const VERBS: Readonly<Record<string, () => Promise<Register>>> = {
  validate: async () => (await import('./commands/validate.js')).registerValidate,
  plan: async () => (await import('./commands/plan.js')).registerPlan,
  run: async () => (await import('./commands/run.js')).registerRun,
  explain: async () => (await import('./commands/explain.js')).registerExplain,
  runs: async () => (await import('./commands/runs.js')).registerRuns,
  render: async () => (await import('./commands/render.js')).registerRender,
  graph: async () => (await import('./commands/graph.js')).registerGraph,
  report: async () => (await import('./commands/report.js')).registerReport,
  ledger: async () => (await import('./commands/ledger.js')).registerLedger,
};

/** Registers the verb `argv` starts with, or every verb (help, version, a typo, no verb). */
export async function buildProgram(io: CliIO, argv: readonly string[]): Promise<Command> {
  const program = new DagCommand('dag')
    .description('make for date-partitioned data: build only the missing or stale partitions, and say why')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  verbHelp(program, {
    examples: ['dag validate', 'dag plan --range 2021-11-01..2021-11-30', 'dag run --range yesterday --mode daily'],
    exitCodes: [
      [0, 'ok'],
      [1, 'something failed (run), work to do or blocked with --exit-code (plan), or an invalid file (validate)'],
      [2, "usage error, the pipeline cannot be read, or another run holds the target's lock"],
      [130, 'a run cancelled by Ctrl-C'],
    ],
  });
  program.usage('<command> [options]');
  const verb = argv[0];
  const wanted = verb !== undefined && Object.hasOwn(VERBS, verb) ? [VERBS[verb]!] : Object.values(VERBS);
  // Verbs are added with program.command(), which copies exitOverride and configureOutput to them.
  for (const register of await Promise.all(wanted.map((load) => load()))) register(program, io);
  return program;
}

/**
 * Exit codes of warehouse errors (DESIGN §6): every one is 2, like a usage error or an unreadable
 * pipeline: nothing was built, and the message says what to fix. Adapters never choose them.
 */
const WAREHOUSE_EXIT: Readonly<Record<WarehouseErrorKind, 1 | 2>> = {
  locked: 2,
  'lock-unreadable': 2,
  'unreadable-target': 2,
  'bad-table': 2,
  'bad-ledger': 2,
};

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  try {
    const program = await buildProgram(io, argv);
    await program.parseAsync([...argv], { from: 'user' });
    return io.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version exit 0; every other parse problem is a usage error (2), already printed.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UserError || error instanceof WarehouseError) {
      io.stderr(`dag: ${error.message}\n`);
      if (error.hint) io.stderr(`  hint: ${error.hint}\n`);
      return error instanceof UserError ? error.exitCode : WAREHOUSE_EXIT[error.kind];
    }
    io.stderr(`dag: internal error while ${io.doing}: ${firstLine(error)} — this is a bug in dag\n`);
    if (io.env.DAG_DEBUG && error instanceof Error) io.stderr(`${error.stack}\n`);
    return 2;
  }
}
