/**
 * `dag run --range A..B [--select SEL]... [--target T] [--concurrency N] [--mode backfill|daily]
 * [--wait DURATION] [--force] [--full-refresh] [--json]`: builds exactly what `dag plan` with the same arguments shows
 * (with --full-refresh, after dropping the selected processors' tables: full-refresh.ts),
 * and says first what that plan warns of (a calendar behind the range, unselected upstream processors
 * that are not fresh); the warnings close the summary too, so a run never reads as plain success.
 * Order matters: open the target, take its lock, THEN read the snapshot and plan, so no other run can
 * change what this one acts on. The lock is released however the run ends.
 */
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { makeCalendar } from '../../core/calendar.js';
import { formatDay, type DayRange } from '../../core/dates.js';
import { UserError } from '../../core/diagnostics.js';
import { inputFingerprint } from '../../core/fingerprint.js';
import { processorInputs } from '../../core/inputs.js';
import { lineProgress, liveProgress, type ProgressView } from '../../report/progress.js';
import { renderRunSummary, runResultToJson } from '../../report/summary.js';
import {
  acquireRunLock,
  createBuildClock,
  createCommandSpawner,
  newRunId,
  outcomesOf,
  parseWaitDuration,
  postJson,
  runPlan,
  staleSourceMessage,
  staleSources,
  systemClock,
  webhookFor,
  webhooksOf,
  Webhooks,
  type RunEvent,
  type RunMode,
  type RunResult,
} from '../../runner/index.js';
import type { LockOwner } from '../../warehouse/port.js';
import { processStartTime } from '../../warehouse/process.js';
import { firstLine } from '../../warehouse/shared.js';
import { verbHelp } from '../help.js';
import { useColor, type CliIO } from '../io.js';
import { fullRefresh, requireRefreshSelection } from '../full-refresh.js';
import { upstreamGapMessage } from '../../core/upstream-gaps.js';
import { staleCalendarNotice } from '../../runner/stale-data.js';
import { addUp, FORCE_HELP, loadAndSelect, openTarget, printWarnings, readAndPlan, SELECT_HELP } from '../prepare.js';
import { parseRange, RANGE_HELP } from '../range.js';
import { invocationToday } from '../today.js';

interface RunFlags {
  readonly range: string;
  readonly select: readonly string[];
  readonly target?: string;
  readonly pipeline?: string;
  readonly concurrency: string;
  readonly mode: string;
  readonly wait: string;
  readonly force?: boolean;
  readonly json?: boolean;
  readonly fullRefresh?: boolean;
}

/** Exit code of a run stopped by Ctrl-C / SIGTERM (128 + SIGINT, as shells report it). */
export const CANCELLED_EXIT_CODE = 130;

export function registerRun(program: Command, io: CliIO): void {
  const command = program
    .command('run')
    .description('build the missing and stale partitions of a date range, in dependency order, and record what happened')
    .requiredOption('--range <A..B>', RANGE_HELP)
    .option('--select <SEL>', SELECT_HELP, addUp, [])
    .option('--target <T>', 'target from pipeline.yaml (default_target otherwise)')
    .option('--pipeline <FILE>', 'pipeline file (found from the working directory up otherwise)')
    .option('--concurrency <N>', "warehouse jobs at once (each processor's own concurrency applies too)", '4')
    .option('--mode <MODE>', 'backfill: one summary at the end; daily: also stale-data warnings first and a message per failure as it happens', 'backfill')
    .option('--wait <DURATION>', "wait this long for another run holding the target's lock (e.g. 30s, 5m)", '0')
    .option('--force', FORCE_HELP)
    .option('--json', 'print the result as one JSON object')
    .option(
      '--full-refresh',
      'drop the tables of the processors --select names (and their ledger rows), then rebuild them from their first partition (the range must cover it)',
    );
  verbHelp(command, {
    examples: [
      'dag run --range 2021-10-19..2021-12-15',
      'dag run --range yesterday --mode daily --wait 10m',
      'dag run --range 2021-11-01..2021-11-30 --select PCF+ --force --json',
    ],
    exitCodes: [
      [0, 'everything the plan would build was built (blocked partitions do not fail a run)'],
      [1, 'a partition failed, or was not built because an upstream partition failed'],
      [2, "usage error, the pipeline cannot be read, or another run holds the target's lock"],
      [130, 'cancelled by Ctrl-C or SIGTERM (what was committed stays; nothing is half-written)'],
      [137, 'a job that ignored its cancel was abandoned: dag reported, then ended itself with SIGKILL'],
    ],
  });
  command.action(async (flags: RunFlags) => {
    io.doing = 'run';
    const concurrency = parseConcurrency(flags.concurrency);
    const mode = parseMode(flags.mode);
    const waitMs = parseWaitDuration(flags.wait);
    if (waitMs === undefined) throw new UserError(`--wait '${flags.wait}' is not a duration`, 2, 'write e.g. --wait 30s, --wait 5m or --wait 0');
    const refresh = flags.fullRefresh ? requireRefreshSelection(flags.select) : undefined;
    const loaded = await loadAndSelect(io, flags);
    const range = parseRange(flags.range, () => invocationToday(io, loaded.pipeline.timeZone));
    printWarnings(io, loaded.warnings);
    const warehouse = await openTarget(io, loaded, false, true);
    const runId = newRunId(Date.now(), Math.random);
    const commandLine = io.argv.join(' ');
    const processStart = processStartTime(process.pid);
    const owner: LockOwner = { runId, pid: process.pid, host: hostname(), since: Date.now(), commandLine, ...(processStart ? { processStart } : {}) };
    const commands = createCommandSpawner({ baseEnv: io.env, logRoot: join(dirname(loaded.pipeline.file), '.dag', 'logs'), targetName: loaded.targetName });
    let result: RunResult | undefined;
    const warn = (message: string) => io.stderr(`dag: warning: ${message}\n`);
    // Every post of the run goes through one queue (at most 4 in flight); the summary, the daily
    // digest and whatever is still in flight are awaited only after the lock is released.
    const webhooks = new Webhooks(postJson, warn);
    let finalPosts: (() => void) | undefined;
    try {
      io.doing = `waiting for the lock of target '${loaded.targetName}'`;
      await acquireRunLock(warehouse, owner, waitMs);
      const cancel = new AbortController();
      // Set once the run starts: the live view prints notices above its bars, so a Ctrl-C notice
      // written beside them cannot leave the terminal half-redrawn.
      let view: ProgressView | undefined;
      const notice = (text: string) => (view?.notice ? view.notice(text) : io.stderr(text));
      const onSignal = (signal: NodeJS.Signals) => {
        if (cancel.signal.aborted) {
          // A second Ctrl-C: at once. Commands die with us; the next run takes the lock over. The
          // view draws its last frame first and gives the cursor back.
          commands.killAll();
          view?.finish();
          io.stderr(`dag: ${signal} again: exiting now; the next dag run takes over the lock\n`);
          io.die?.(signal);
          return;
        }
        notice(
          `${view?.notice ? '' : '\n'}dag: ${signal}: cancelling run ${runId}: interrupting running jobs (no partition is left half-written; ${signal} again exits at once)\n`,
        );
        cancel.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        if (refresh !== undefined) await fullRefresh(io, loaded, warehouse, range, refresh, (r) => refreshCommand(flags, refresh, r));
        const { plan, snapshot, warnings, calendarBehind, upstreamGaps } = await readAndPlan(io, loaded, warehouse, range, {
          force: flags.force === true,
          readersFailUnreadable: true,
        });
        for (const gap of upstreamGaps) io.stderr(`dag: note: ${upstreamGapMessage(gap, plan.range)}\n`);
        const calendar = makeCalendar(snapshot.calendar);
        const envelope = { run_id: runId, pipeline: loaded.pipeline.name, target: loaded.targetName };
        const urls = webhooksOf(
          loaded.pipeline,
          plan.processors.map((p) => p.name),
        );
        view = flags.json
          ? undefined
          : io.isTTY
            ? liveProgress({ write: io.stdout, now: () => Date.now(), color: useColor(io), columns: process.stdout.columns })
            : lineProgress({ write: io.stdout, now: () => Date.now(), color: false });
        const onEvent = (event: RunEvent) => {
          if (event.kind === 'warning' && !view) warn(event.message);
          view?.onEvent(event);
          if (mode !== 'daily' || event.kind !== 'task') return;
          const processor = event.task.processor.name;
          for (const [day, outcome] of outcomesOf(event)) {
            if (outcome.state !== 'failed' || !isRootFailure(outcome.failure.category)) continue;
            const { category, message } = outcome.failure;
            notice(`dag: FAILED ${processor} ${formatDay(day)} ${category}: ${firstLine(message)}\n`);
            const url = webhookFor(loaded.pipeline, processor);
            if (url) webhooks.failure(url, { processor, date: formatDay(day), category, message }, envelope);
          }
        };
        if (mode === 'daily') {
          const post = (body: Record<string, unknown>) => webhooks.send(urls, { event: 'stale_data', ...envelope, ...body });
          // Already printed as a warning by readAndPlan; daily mode also posts it.
          if (calendarBehind) post(staleCalendarNotice(calendarBehind.behind, calendarBehind.message));
          for (const stale of staleSources(loaded.pipeline, plan)) {
            const message = staleSourceMessage(stale);
            io.stderr(`dag: ${message}\n`);
            post({ source: stale.source, dates: stale.days.map(formatDay), message });
          }
        }
        io.doing = 'running';
        result = await runPlan({
          pipeline: loaded.pipeline,
          plan,
          snapshot,
          warehouse,
          runId,
          commandLine,
          clock: createBuildClock(systemClock),
          inputsOf: (processor, day) => processorInputs(processor, day, calendar),
          inputFingerprint: (processor, day, live) => inputFingerprint(processor, day, live, calendar),
          commands: commands.run,
          lockOwner: owner,
          concurrency,
          onEvent,
          signal: cancel.signal,
        });
        view?.finish();
        if (result.lingering) {
          // An abandoned job's thread is stuck (a read blocked in the kernel): a normal exit would wait for it.
          io.stderr('dag: an abandoned job is still stuck in the warehouse; dag ends itself with SIGKILL once it has reported (exit status 137)\n');
          io.endWith = 'SIGKILL';
        }
        io.doing = 'reporting';
        const json = { ...runResultToJson(result), ...(warnings.length > 0 ? { warnings } : {}) };
        io.stdout(flags.json ? `${JSON.stringify(json, null, 2)}\n` : `${renderRunSummary(result)}${warnings.map((w) => `warning: ${w}\n`).join('')}`);
        finalPosts = () => {
          webhooks.sendDigests(envelope);
          webhooks.send(urls, { event: 'summary', ...json });
        };
      } finally {
        // However the run ended: the terminal gets its cursor back (finish is idempotent).
        view?.finish();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        // A command still running now was abandoned: it must not outlive the lock it is recorded in.
        commands.killAll();
        await warehouse.releaseLock(owner);
      }
      io.doing = 'posting to webhooks';
      finalPosts?.();
      await webhooks.settled();
    } finally {
      await warehouse.close();
    }
    io.exitCode = result.outcome === 'cancelled' ? CANCELLED_EXIT_CODE : result.outcome === 'failed' ? 1 : 0;
  });
}

/** The full-refresh command line with another range, for the hint of a refusal. */
function refreshCommand(flags: RunFlags, selection: string, range: DayRange): string {
  const target = flags.target === undefined ? '' : ` --target ${flags.target}`;
  return `dag run --full-refresh --select ${selection} --range ${formatDay(range.start)}..${formatDay(range.end)}${target}`;
}

/** Daily mode notifies the failures that need a person, not every partition downstream of them. */
function isRootFailure(category: string): boolean {
  return category !== 'UPSTREAM_FAILED' && category !== 'CANCELLED';
}

function parseConcurrency(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UserError(`--concurrency '${text}' must be a whole number of at least 1`, 2);
  return value;
}

function parseMode(text: string): RunMode {
  if (text === 'backfill' || text === 'daily') return text;
  throw new UserError(
    `--mode '${text}' is not a mode`,
    2,
    'use --mode backfill (one summary at the end) or --mode daily (stale-data warnings and a message per failure)',
  );
}
