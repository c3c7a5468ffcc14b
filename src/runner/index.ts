/**
 * The runner's entry point: builds a Plan's batches on a warehouse and records what happened.
 * The caller holds the target's lock and read the snapshot the plan came from (lock first).
 */
import { createBuildClock, systemClock, type BuildClock, type WallClock } from './clock.js';
import { buildJobGraph } from './jobs.js';
import { buildResult } from './result.js';
import { schedule } from './scheduler.js';
import { applySourceVersions, liveSnapshot, type RunContext } from './attempt.js';
import type { RunnerOptions, RunResult } from './types.js';
import { firstLine } from '../warehouse/shared.js';

export type { RunnerOptions, RunResult, RunEvent, RunMode, ProcessorResult, InputsOf, InputFingerprinter, SpawnerFactory } from './types.js';
export { createBuildClock, systemClock, type BuildClock, type WallClock };
export { createCommandSpawner, logFileFor, stopGroup, type SpawnSettings } from './spawn.js';
export { acquireRunLock, parseWaitDuration } from './lock.js';
export { postJson, webhooksOf, webhookFor, notifyAll, type Poster } from './notify.js';
export { buildJobGraph } from './jobs.js';
export { newRunId } from './run-id.js';
export { staleSources, staleSourceMessage, type StaleSource } from './stale-data.js';

export async function runPlan(options: RunnerOptions): Promise<RunResult> {
  const { warehouse, clock } = options;
  const startedWall = clock.wall();
  const runStart = clock.next();
  const graph = buildJobGraph(options.pipeline, options.plan, options.inputsOf);
  await warehouse.recordRun({ runId: options.runId, commandLine: options.commandLine, target: warehouse.targetName, startedAt: runStart });
  const context: RunContext = { options, runStart, live: liveSnapshot(options.snapshot), sourceVersions: undefined, attempts: new Map(), jobsStarted: 0 };
  let result: RunResult | undefined;
  try {
    // Source versions first seen now are stamped runStart; every builtAt below is later than that.
    // Versions the snapshot left pending are hashed while the first batches run; no batch writes its
    // ledger rows before they are recorded (it awaits its input fingerprints).
    // Inside the try: a run whose start row was written always gets its end row.
    const recorded = warehouse.recordSourceVersions(options.pipeline, options.snapshot, runStart, options.signal).then(({ versions, failed }) => {
      applySourceVersions(context.live, versions);
      if (failed.size === 0) context.sourceVersions = undefined;
      return failed;
    });
    const pending = options.snapshot.pendingVersions ?? new Set<string>();
    if (pending.size > 0) {
      // Batches reading a pending source wait for it; if it cannot be recorded, they fail with why.
      context.sourceVersions = { sources: pending, recorded };
      // Looked at after the schedule (below); until then a failure must not count as unhandled.
      recorded.catch(() => undefined);
    } else await recorded;
    options.onEvent({ kind: 'run-started', runId: options.runId, totals: graph.totals });
    const outcomes = await schedule(context, graph);
    // The batches that needed the versions failed with this already; a cancelled run interrupted it.
    const failed = await recorded.catch((error: unknown) => {
      if (!options.signal.aborted) options.onEvent({ kind: 'warning', message: `could not record source versions: ${firstLine(error)}` });
      return new Map<string, string>();
    });
    for (const [source, message] of failed) options.onEvent({ kind: 'warning', message: `could not record the versions of source '${source}': ${message}` });
    result = buildResult(options.plan, outcomes, {
      runId: options.runId,
      elapsedMs: clock.wall() - startedWall,
      jobs: context.jobsStarted,
      cancelled: options.signal.aborted,
    });
    return result;
  } finally {
    await warehouse
      .recordRun({
        runId: options.runId,
        commandLine: options.commandLine,
        target: warehouse.targetName,
        startedAt: runStart,
        endedAt: clock.next(),
        outcome: result?.outcome ?? 'failed',
      })
      .catch((error: unknown) => options.onEvent({ kind: 'warning', message: `could not record the run's end in the ledger: ${error instanceof Error ? error.message : String(error)}` }));
  }
}
