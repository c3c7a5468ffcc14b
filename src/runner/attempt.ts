/**
 * One contiguous batch of one processor, run to a final answer: each attempt gets its own
 * AbortController (the processor's timeout, or the run being cancelled, aborts it: the adapter
 * interrupts the query, the spawner kills the process group), transient failures are retried with
 * exponential backoff, and every failed attempt is written to `_dag.failures`.
 */
import type { Day } from '../core/dates.js';
import type { Processor } from '../core/model.js';
import type { Batch } from '../core/plan.js';
import type { BatchJob, BatchOutcome, JobFailure } from '../warehouse/port.js';
import { firstLine } from '../warehouse/shared.js';
import { inputsFor } from './inputs.js';
import { partitionKey, type PartitionKey } from './jobs.js';
import type { LedgerEntry, PartitionInfo, Snapshot, SourceVersions, TableInventory } from '../core/snapshot.js';
import type { RunnerOptions } from './types.js';

/** Shared state of one run that attempts read and write. */
export interface RunContext {
  readonly options: RunnerOptions;
  /** builtAt of the run's start: source versions first seen now are recorded at this time. */
  readonly runStart: number;
  /** The snapshot plus a ledger entry for every partition this run built so far. */
  readonly live: LiveSnapshot;
  /**
   * While versions of sources the snapshot left pending are being computed and recorded: which
   * sources, and a promise that settles when they are in `live`, with the sources that failed.
   */
  sourceVersions: { readonly sources: ReadonlySet<string>; readonly recorded: Promise<ReadonlyMap<string, string>> } | undefined;
  /** Attempts so far per partition (a batch attempt counts for each of its days). */
  readonly attempts: Map<PartitionKey, number>;
  jobsStarted: number;
}

export interface BatchAnswer {
  /** The ledger entries written for the built partitions, one per built day (the run's live view keeps them). */
  readonly entries: ReadonlyMap<Day, LedgerEntry>;
  /** Partitions not built, with why; empty when everything was built. */
  readonly failed: ReadonlyMap<Day, JobFailure>;
  /** The failure of the batch as a whole (undefined when it ran), to decide on a per-partition retry. */
  readonly failure: JobFailure | undefined;
}

export interface LiveSnapshot extends Snapshot {
  readonly tables: Map<string, TableInventory>;
  readonly ledger: Map<string, Map<Day, LedgerEntry>>;
}

/** A copy of the snapshot whose ledger the run extends as it builds (the original stays as planned). */
export function liveSnapshot(snapshot: Snapshot): LiveSnapshot {
  const ledger = new Map<string, Map<Day, LedgerEntry>>();
  for (const [name, entries] of snapshot.ledger) ledger.set(name, new Map(entries));
  return { ...snapshot, tables: new Map(snapshot.tables), ledger };
}

/** Puts source versions the snapshot left pending (now recorded at the run's start) into the live view. */
export function applySourceVersions(live: LiveSnapshot, versions: SourceVersions): void {
  for (const [name, byDay] of versions) {
    const inventory = live.tables.get(name);
    if (!inventory) continue;
    const partitions = new Map<Day, PartitionInfo>();
    for (const [day, info] of inventory.partitions) partitions.set(day, { ...info, version: byDay.get(day) ?? info.version });
    live.tables.set(name, { ...inventory, partitions });
  }
}

export function recordBuilt(live: LiveSnapshot, processor: string, day: Day, entry: LedgerEntry): void {
  let entries = live.ledger.get(processor);
  if (!entries) live.ledger.set(processor, (entries = new Map()));
  entries.set(day, entry);
}

const RETRY_BASE_MS = 200;

export function defaultBackoffMs(retry: number): number {
  const base = RETRY_BASE_MS * 2 ** (retry - 1);
  return Math.round(base * (0.5 + Math.random()));
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export async function runBatch(context: RunContext, processor: Processor, days: readonly Day[]): Promise<BatchAnswer> {
  const { options } = context;
  const batch: Batch = { start: days[0] ?? 0, end: days[days.length - 1] ?? 0, days };
  const codeFingerprint = options.plan.processors.find((p) => p.name === processor.name)?.codeFingerprint ?? '';
  const sleep = options.sleep ?? abortableSleep;
  const backoff = options.backoffMs ?? defaultBackoffMs;
  for (let attempt = 1; ; attempt += 1) {
    const inputs = inputsFor(context, processor, days);
    const builtAt = options.clock.next(inputs.latest);
    const job: BatchJob = {
      pipeline: options.pipeline,
      processor,
      batch,
      runId: options.runId,
      builtAt,
      codeFingerprint,
      inputFingerprints: inputs.fingerprints,
    };
    options.onEvent({ kind: 'job-started', processor: processor.name, start: batch.start, end: batch.end, attempt });
    context.jobsStarted += 1;
    const outcome = await attemptOnce(context, job);
    if (outcome.ok) {
      // Settled: the adapter awaited it before writing the ledger rows.
      const fingerprints = await inputs.fingerprints;
      const failed = new Map<Day, JobFailure>();
      for (const day of outcome.absent)
        failed.set(day, { category: 'NO_OUTPUT', message: `the command exited 0 but left no rows for ${processor.table.schema}.${processor.table.name} on this date (set allow_empty: true if that is normal)` });
      for (const [day, failure] of failed) await recordFailure(context, processor, day, failure);
      const entries = new Map<Day, LedgerEntry>();
      for (const [day, rows] of outcome.rows)
        entries.set(day, { runId: options.runId, builtAt, rows, codeFingerprint, inputFingerprint: fingerprints.get(day) ?? '' });
      return { entries, failed, failure: undefined };
    }
    const failure = outcome.failure;
    for (const day of days) await recordFailure(context, processor, day, failure);
    const retriable = failure.category === 'TRANSIENT' && attempt <= processor.retries && !options.signal.aborted;
    if (!retriable) return { entries: new Map(), failed: new Map(days.map((day) => [day, failure])), failure };
    const delayMs = backoff(attempt);
    options.onEvent({ kind: 'job-retry', processor: processor.name, start: batch.start, end: batch.end, attempt: attempt + 1, delayMs, failure });
    await sleep(delayMs, options.signal);
  }
}

async function attemptOnce(context: RunContext, job: BatchJob): Promise<BatchOutcome> {
  const { options } = context;
  if (options.signal.aborted) return { ok: false, failure: { category: 'CANCELLED', message: 'the run was cancelled before this job started' } };
  const controller = new AbortController();
  const cancel = () => controller.abort('cancelled');
  options.signal.addEventListener('abort', cancel, { once: true });
  let timedOut = false;
  const timeoutMs = job.processor.timeoutMs;
  const expire = () => {
    timedOut = true;
    controller.abort('timeout');
  };
  let timer: NodeJS.Timeout | undefined = setTimeout(expire, timeoutMs);
  // Waiting (for a command holding the DuckDB file, for source versions) is not the job's own time:
  // the clock stops while the adapter says the job is queued and goes on, with what is left, when it
  // resumes. Time before the first wait counts only once the job has begun (onStarted).
  let begun = false;
  let used = 0;
  let since = Date.now();
  const onQueued = () => {
    if (timer !== undefined && begun) used += Date.now() - since;
    clearTimeout(timer);
    timer = undefined;
  };
  const onStarted = () => {
    if (timedOut) return;
    begun = true;
    clearTimeout(timer);
    since = Date.now();
    timer = setTimeout(expire, Math.max(0, timeoutMs - used));
  };
  try {
    const started: BatchJob = { ...job, onQueued, onStarted };
    const outcome =
      job.processor.action.kind === 'sql'
        ? await options.warehouse.runSqlBatch(started, controller.signal)
        : await options.warehouse.runCommandBatch(started, options.spawner(started), controller.signal);
    // A batch that committed stays built even if the timer fired while it committed.
    if (outcome.ok) return outcome;
    if (timedOut)
      return { ok: false, failure: { category: 'TIMEOUT', message: `timed out after ${formatMs(timeoutMs)} and was cancelled (${outcome.failure.message})` } };
    if (options.signal.aborted) return { ok: false, failure: { category: 'CANCELLED', message: 'interrupted: the run was cancelled' } };
    return outcome;
  } catch (error) {
    const category = timedOut ? 'TIMEOUT' : options.signal.aborted ? 'CANCELLED' : 'PROCESSOR_ERROR';
    return { ok: false, failure: { category, message: firstLine(error) } };
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', cancel);
  }
}

export async function recordFailure(context: RunContext, processor: Processor, day: Day, failure: JobFailure): Promise<void> {
  const key = partitionKey(processor.name, day);
  const attempt = (context.attempts.get(key) ?? 0) + 1;
  context.attempts.set(key, attempt);
  try {
    await context.options.warehouse.recordFailure({
      runId: context.options.runId,
      processor: processor.name,
      day,
      category: failure.category,
      message: failure.message,
      attempt,
      at: context.options.clock.wall(),
    });
  } catch (error) {
    context.options.onEvent({ kind: 'warning', message: `could not record a failure in the ledger: ${error instanceof Error ? error.message : String(error)}` });
  }
}

export function formatMs(ms: number): string {
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
