/**
 * `dag runs [RUN_ID] [--limit N] [--failures] [--target T] [--json]`: the run history from the
 * ledger — the recent runs, one run's batches, failures and logs, or the failed partitions with
 * whether a later run built them since. Opens the target read-only; never writes.
 */
import type { Command } from 'commander';
import { UserError } from '../../core/diagnostics.js';
import { failureJson, failuresText, runDetailJson, runJson, runsListText, runText, type RunView } from '../../report/runs.js';
import { dayRangeText } from '../../report/ranges.js';
import { logFileOf } from '../../runner/spawn.js';
import type { Warehouse } from '../../warehouse/port.js';
import { verbHelp } from '../help.js';
import type { CliIO } from '../io.js';
import { loadPipelineAndTarget, openTarget, printWarnings, withSelection } from '../prepare.js';
import { logRootOf, runLogs, shownPath } from '../run-logs.js';
import { existsSync } from 'node:fs';

interface RunsFlags {
  readonly limit: number;
  readonly failures?: boolean;
  readonly target?: string;
  readonly pipeline?: string;
  readonly json?: boolean;
}

/** Failed partitions listed at most (`--failures`, and one run's). */
const FAILURE_ROWS = 10_000;

function parseLimit(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 10_000) throw new UserError(`--limit '${text}' must be a whole number from 1 to 10000`, 2);
  return value;
}

const HELP = {
  examples: ['dag runs', 'dag runs 20211201T061501Z-3fa9', 'dag runs --failures --limit 50'],
  exitCodes: [
    [0, "printed (whatever the runs' outcomes)"],
    [2, 'usage error, an unknown RUN_ID, or the pipeline or target cannot be read'],
  ],
} as const;

export function registerRuns(program: Command, io: CliIO): void {
  const command = program
    .command('runs')
    .description("show the run history: recent runs, one run's batches, failures and logs, or the failed partitions and whether they were built since")
    .argument('[RUN_ID]', 'one run: its batches, failures by processor and category, and its command logs')
    .option('--limit <N>', 'how many recent runs to list (or, with --failures, whose failures to list)', parseLimit, 20)
    .option('--failures', 'list failed partitions: when, category, message, and whether a later run built them since')
    .option('--target <T>', 'target from pipeline.yaml (default_target otherwise)')
    .option('--pipeline <FILE>', 'pipeline file (found from the working directory up otherwise)')
    .option('--json', 'print JSON (schema/runs-output.schema.json)');
  verbHelp(command, HELP);
  command.action(async (runId: string | undefined, flags: RunsFlags) => {
    io.doing = 'runs';
    const loadedPipeline = await loadPipelineAndTarget(io, flags, true);
    const loaded = withSelection(loadedPipeline, undefined);
    printWarnings(io, loaded.warnings);
    const warehouse = await openTarget(io, loaded, true);
    const logRoot = logRootOf(loaded.pipeline);
    try {
      io.doing = 'reading the run history';
      if (flags.failures) await printFailures(io, warehouse, runId, flags);
      else if (runId !== undefined) await printRun(io, warehouse, runId, logRoot, flags);
      else {
        const { runs } = await warehouse.readRecentRuns({ runs: flags.limit, failures: 0 });
        io.stdout(flags.json ? `${JSON.stringify({ target: loaded.targetName, runs: runs.map(runJson) }, null, 2)}\n` : runsListText(runs));
      }
    } finally {
      await warehouse.close();
    }
  });
}

async function requireRun(warehouse: Warehouse, runId: string) {
  const detail = await warehouse.readRun(runId);
  if (!detail) throw new UserError(`no run '${runId}' is recorded on target '${warehouse.targetName}'`, 2, 'dag runs lists the recent runs and their ids');
  return detail;
}

async function printFailures(io: CliIO, warehouse: Warehouse, runId: string | undefined, flags: RunsFlags): Promise<void> {
  if (runId !== undefined) await requireRun(warehouse, runId);
  const { failures, truncated } = await warehouse.readFailures(
    runId !== undefined ? { runId, limit: FAILURE_ROWS } : { runs: flags.limit, limit: FAILURE_ROWS },
  );
  io.stdout(
    flags.json
      ? `${JSON.stringify({ target: warehouse.targetName, failures: failures.map(failureJson), truncated }, null, 2)}\n`
      : failuresText(failures, truncated),
  );
}

async function printRun(io: CliIO, warehouse: Warehouse, runId: string, logRoot: string, flags: RunsFlags): Promise<void> {
  const { run, batches, checks, checksTruncated } = await requireRun(warehouse, runId);
  const { failures, truncated } = await warehouse.readFailures({ runId, limit: FAILURE_ROWS });
  const view: RunView = {
    run,
    batches,
    failures,
    truncated,
    checks,
    checksTruncated,
    logOf: (b) => {
      const file = logFileOf(logRoot, runId, b.processor, b.start, b.end);
      return existsSync(file) ? shownPath(io.cwd, file) : undefined;
    },
    logs: runLogs(logRoot, runId, io.cwd).map((log) => ({ processor: log.processor, range: dayRangeText(log.start, log.end), path: log.path })),
  };
  io.stdout(flags.json ? `${JSON.stringify(runDetailJson(warehouse.targetName, view), null, 2)}\n` : runText(view));
}
