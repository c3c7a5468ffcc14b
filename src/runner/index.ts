/**
 * The runner's entry point: builds a Plan's batches on a warehouse and records what happened.
 * The caller holds the target's lock and read the snapshot the plan came from (lock first).
 */
import { firstLine } from '../warehouse/shared.js';
import { createBuildClock, systemClock, systemTimers, type BuildClock, type Timers, type WallClock } from './clock.js';
import { BatchRecorder } from './batches.js';
import { CommandGroups } from './command.js';
import { applySourceVersions, liveSnapshot, type RunContext } from './context.js';
import { FailureRecorder } from './failures.js';
import { buildJobGraph } from './jobs.js';
import { RunLoop } from './loop.js';
import { buildResult } from './result.js';
import type { RunnerOptions, RunResult } from './types.js';

export type { RunnerOptions, RunResult, RunEvent, RunMode, ProcessorResult, InputsOf, InputFingerprinter, CommandRunner, PartitionOutcome } from './types.js';
export type { Task, TaskStatus, TaskEvent } from './lifecycle.js';
export { createBuildClock, systemClock, systemTimers, type BuildClock, type WallClock, type Timers };
export { createCommandSpawner, logFileFor, logFileOf, type CommandSpawner, type SpawnSettings } from './spawn.js';
export { acquireRunLock, parseWaitDuration } from './lock.js';
export { postJson, webhooksOf, webhookFor, notifyAll, type Poster } from './notify.js';
export { Webhooks, MAX_POSTS_IN_FLIGHT, FAILURES_BEFORE_DIGEST, type FailureNote, type DigestGroup } from './webhooks.js';
export { buildJobGraph } from './jobs.js';
export { newRunId } from './run-id.js';
export { staleSources, staleSourceMessage, type StaleSource } from './stale-data.js';
export { outcomesOf } from './book.js';

/** A job may take this long to stop after its cancel or timeout before it is abandoned. */
export const DEFAULT_GRACE_MS = 3000;

export async function runPlan(options: RunnerOptions): Promise<RunResult> {
  const { warehouse, clock } = options;
  const timers = options.timers ?? systemTimers;
  const startedWall = clock.wall();
  const runStart = clock.next();
  const graph = buildJobGraph(options.pipeline, options.plan, options.inputsOf);
  const warn = (message: string): void => options.onEvent({ kind: 'warning', message });
  await warehouse.recordRun({ runId: options.runId, commandLine: options.commandLine, target: warehouse.targetName, startedAt: runStart });
  const context: RunContext = {
    options,
    timers,
    graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
    runStart,
    live: liveSnapshot(options.snapshot),
    sourceVersions: undefined,
    lingering: new Set(),
    groups: new CommandGroups(warehouse, options.lockOwner, warn),
  };
  // Failure times come from the build clock, like builtAt: a split half or retry built in the same
  // millisecond as the failure is still strictly later, so history never counts it as failed.
  const recorder = new FailureRecorder(warehouse, options.runId, () => clock.next(), warn);
  const batches = new BatchRecorder(options.runId);
  let result: RunResult | undefined;
  try {
    // Source versions first seen now are stamped runStart; every builtAt below is later than that.
    // Versions the snapshot left pending are hashed while the first batches run; a batch that reads
    // them waits for them (waiting-inputs) before it writes a ledger row.
    // Inside the try: a run whose start row was written always gets its end row.
    const recorded = warehouse.recordSourceVersions(options.pipeline, options.snapshot, runStart, options.signal).then(({ versions, failed }) => {
      applySourceVersions(context.live, versions);
      if (failed.size === 0) context.sourceVersions = undefined;
      return failed;
    });
    const pending = options.snapshot.pendingVersions ?? new Set<string>();
    if (pending.size > 0) {
      context.sourceVersions = { sources: pending, recorded };
      // Looked at after the run (below); until then a failure must not count as unhandled.
      recorded.catch(() => undefined);
    } else await recorded;
    options.onEvent({
      kind: 'run-started',
      runId: options.runId,
      totals: graph.totals,
      blocked: new Map(options.plan.processors.map((p) => [p.name, p.counts.blocked])),
    });
    const loop = new RunLoop(context, (event) => {
      recorder.onEvent(event);
      batches.onEvent(event);
      options.onEvent(event);
    });
    await loop.run(graph);
    // The batches that needed the versions failed with this already; a cancelled run interrupted it
    // (a hashing query that does not stop is not waited for beyond the grace period).
    const failed = await settledWithin(recorded, options.signal.aborted ? context.graceMs : Infinity, timers).catch((error: unknown) => {
      if (!options.signal.aborted) warn(`could not record source versions: ${firstLine(error)}`);
      return { value: new Map<string, string>() };
    });
    for (const [source, message] of failed?.value ?? []) warn(`could not record the versions of source '${source}': ${message}`);
    if ((await settledWithin(Promise.all([recorder.flush(), context.groups.flush()]), 10_000, timers)) === undefined)
      warn('could not record every failure in the ledger within 10s');
    result = buildResult(options.plan, loop.book, {
      runId: options.runId,
      elapsedMs: clock.wall() - startedWall,
      cancelled: options.signal.aborted,
      lingering: context.lingering.size > 0,
    });
    return result;
  } finally {
    // The batches first: a run whose end row is there has its batches too (`dag runs RUN_ID`).
    const recorded =
      batches.batches.length === 0
        ? Promise.resolve()
        : warehouse.recordBatches(batches.batches).catch((error: unknown) => warn(`could not record the run's batches in the ledger: ${firstLine(error)}`));
    const totals = result?.totals;
    const end = recorded.then(() =>
      warehouse.recordRun({
        runId: options.runId,
        commandLine: options.commandLine,
        target: warehouse.targetName,
        startedAt: runStart,
        endedAt: clock.next(),
        outcome: result?.outcome ?? 'failed',
        ...(totals
          ? {
              summary: {
                range: options.plan.range,
                built: totals.built,
                failed: totals.failed,
                upstreamFailed: totals.upstreamFailed,
                blocked: totals.blocked,
              },
            }
          : {}),
      }),
    );
    await settledWithin(end, 10_000, timers).then(
      (ended) => ended === undefined && warn("could not record the run's end in the ledger within 10s"),
      (error: unknown) => warn(`could not record the run's end in the ledger: ${firstLine(error)}`),
    );
  }
}

/** `work`'s value, or undefined when it has not settled within `ms` (rejections pass through). */
function settledWithin<T>(work: Promise<T>, ms: number, timers: Timers): Promise<{ readonly value: T } | undefined> {
  if (ms === Infinity) return work.then((value) => ({ value }));
  return new Promise((resolve, reject) => {
    const cancel = timers.after(ms, () => resolve(undefined));
    work.then(
      (value) => {
        cancel();
        resolve({ value });
      },
      (error: unknown) => {
        cancel();
        reject(error);
      },
    );
  });
}
