/**
 * What the runner is given and what it reports. Everything with a side effect (warehouse, clock,
 * process spawner, sleep, event sink) comes in through RunnerOptions so tests inject their own.
 */
import type { Day, DayRange } from '../core/dates.js';
import type { Pipeline, Processor } from '../core/model.js';
import type { Plan, UpstreamDays } from '../core/plan.js';
import type { Snapshot } from '../core/snapshot.js';
import type { BatchJob, CommandSpawner, FailureCategory, JobFailure, Warehouse } from '../warehouse/port.js';
import type { BuildClock } from './clock.js';

export type RunMode = 'backfill' | 'daily';

/** The upstream partitions partition `day` of `processor` reads (the planner's mapping, calendar applied). */
export type InputsOf = (processor: Processor, day: Day) => readonly UpstreamDays[];

/**
 * The ledger's input fingerprint of partition `day`, from the versions in `snapshot` — the run's live
 * view: the snapshot it planned from plus the partitions built so far in this run.
 */
export type InputFingerprinter = (processor: Processor, day: Day, snapshot: Snapshot) => string;

/** Makes the spawner the adapter calls for one command batch (argv, DAG_* env, log file, process group). */
export type SpawnerFactory = (job: BatchJob) => CommandSpawner;

export type RunEvent =
  | { readonly kind: 'run-started'; readonly runId: string; readonly totals: ReadonlyMap<string, number> }
  | { readonly kind: 'job-started'; readonly processor: string; readonly start: Day; readonly end: Day; readonly attempt: number }
  | {
      readonly kind: 'job-retry';
      readonly processor: string;
      readonly start: Day;
      readonly end: Day;
      readonly attempt: number;
      readonly delayMs: number;
      readonly failure: JobFailure;
    }
  | { readonly kind: 'job-split'; readonly processor: string; readonly start: Day; readonly end: Day; readonly failure: JobFailure }
  | {
      readonly kind: 'job-finished';
      readonly processor: string;
      readonly start: Day;
      readonly end: Day;
      readonly built: readonly Day[];
      readonly failure: JobFailure | undefined;
      readonly elapsedMs: number;
    }
  /** A partition reached a final failed state (UPSTREAM_FAILED included); daily mode notifies on these. */
  | { readonly kind: 'partition-failed'; readonly processor: string; readonly day: Day; readonly category: FailureCategory; readonly message: string }
  | { readonly kind: 'warning'; readonly message: string };

export interface RunnerOptions {
  readonly pipeline: Pipeline;
  readonly plan: Plan;
  readonly snapshot: Snapshot;
  readonly warehouse: Warehouse;
  readonly runId: string;
  /** The command line as typed, for `_dag.runs`. */
  readonly commandLine: string;
  readonly clock: BuildClock;
  readonly inputsOf: InputsOf;
  readonly inputFingerprint: InputFingerprinter;
  readonly spawner: SpawnerFactory;
  /** Global cap on jobs at once (each processor's own `concurrency` applies too). */
  readonly concurrency: number;
  readonly onEvent: (event: RunEvent) => void;
  /** Aborting it cancels the run: running jobs are interrupted, nothing new starts. */
  readonly signal: AbortSignal;
  /** Backoff before retry n (1-based) of a transient failure; defaults to 200 ms × 2^(n-1) with jitter. */
  readonly backoffMs?: (retry: number) => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export type PartitionOutcome =
  | { readonly state: 'built'; readonly rows: number; readonly builtAt: number }
  | { readonly state: 'failed'; readonly category: FailureCategory; readonly message: string };

export interface ProcessorResult {
  readonly name: string;
  readonly built: readonly Day[];
  readonly failed: readonly { readonly day: Day; readonly category: FailureCategory; readonly message: string }[];
  readonly blocked: readonly Day[];
  readonly upstreamFailed: readonly Day[];
}

export type RunOutcome = 'success' | 'failed' | 'cancelled';

export interface RunResult {
  readonly runId: string;
  readonly pipeline: string;
  readonly target: string;
  readonly range: DayRange;
  readonly processors: readonly ProcessorResult[];
  readonly totals: {
    readonly built: number;
    readonly failed: number;
    readonly blocked: number;
    readonly upstreamFailed: number;
    /** Warehouse jobs started (commands and queries, retries included). */
    readonly jobs: number;
  };
  readonly elapsedMs: number;
  readonly outcome: RunOutcome;
}
