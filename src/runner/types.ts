/**
 * What the runner is given and what it reports. Everything with a side effect (warehouse, clocks,
 * process spawner, event sink) comes in through RunnerOptions so tests inject their own.
 */
import type { Day, DayRange } from '../core/dates.js';
import type { Pipeline, Processor } from '../core/model.js';
import type { Plan, UpstreamDays } from '../core/plan.js';
import type { Snapshot } from '../core/snapshot.js';
import type { BatchJob, FailureCategory, JobFailure, LockOwner, ProcessGroup, Warehouse } from '../warehouse/port.js';
import type { BuildClock, Timers } from './clock.js';
import type { TaskEvent } from './lifecycle.js';

export type RunMode = 'backfill' | 'daily';

/** The upstream partitions partition `day` of `processor` reads (the planner's mapping, calendar applied). */
export type InputsOf = (processor: Processor, day: Day) => readonly UpstreamDays[];

/**
 * The ledger's input fingerprint of partition `day`, from the versions in `snapshot` — the run's live
 * view: the snapshot it planned from plus the partitions built so far in this run.
 */
export type InputFingerprinter = (processor: Processor, day: Day, snapshot: Snapshot) => string;

/**
 * Runs a command processor's process for one batch (argv, DAG_* variables plus the adapter's `env`, log
 * file, process group). `onGroup` is told when the command's process group starts (running true) and
 * when it is gone, so the lock can record it. Resolves undefined on exit 0, else the failure.
 */
export type CommandRunner = (
  job: BatchJob,
  env: Readonly<Record<string, string>>,
  signal: AbortSignal,
  onGroup: (group: ProcessGroup, running: boolean) => void,
) => Promise<JobFailure | undefined>;

export type RunEvent =
  /** `totals`: partitions to build per processor; `blocked`: partitions the plan blocked (not attempted). */
  | { readonly kind: 'run-started'; readonly runId: string; readonly totals: ReadonlyMap<string, number>; readonly blocked: ReadonlyMap<string, number> }
  /** A task changed status (lifecycle.ts); everything reported about jobs and partitions comes from these. */
  | TaskEvent
  | { readonly kind: 'warning'; readonly message: string };

export interface RunnerOptions {
  readonly pipeline: Pipeline;
  readonly plan: Plan;
  readonly snapshot: Snapshot;
  readonly warehouse: Warehouse;
  readonly runId: string;
  /** The command line as typed, for `_dag.runs`. */
  readonly commandLine: string;
  /** Stamps ledger rows (strictly increasing builtAt). */
  readonly clock: BuildClock;
  /** Timeouts, grace periods and backoff; the system's timers by default. */
  readonly timers?: Timers;
  readonly inputsOf: InputsOf;
  readonly inputFingerprint: InputFingerprinter;
  readonly commands: CommandRunner;
  /** The lock this run holds: running command process groups are recorded in it. */
  readonly lockOwner?: LockOwner;
  /** Global cap on jobs at once (each processor's own `concurrency` applies too). */
  readonly concurrency: number;
  readonly onEvent: (event: RunEvent) => void;
  /** Aborting it cancels the run: running jobs are interrupted, nothing new starts. */
  readonly signal: AbortSignal;
  /** Backoff before retry n (1-based) of a transient failure; defaults to 200 ms × 2^(n-1) with jitter. */
  readonly backoffMs?: (retry: number) => number;
  /** How long a job may take to stop after its cancel or timeout before it is abandoned; 3 s by default. */
  readonly graceMs?: number;
}

export type PartitionOutcome =
  | { readonly state: 'built'; readonly rows: number; readonly builtAt: number }
  | { readonly state: 'failed'; readonly failure: JobFailure }
  | { readonly state: 'upstream-failed'; readonly failure: JobFailure }
  /** Never started: the run was cancelled first. */
  | { readonly state: 'cancelled' };

export interface FailedPartition {
  readonly day: Day;
  readonly category: FailureCategory;
  readonly message: string;
}

export interface ProcessorResult {
  readonly name: string;
  readonly built: readonly Day[];
  readonly failed: readonly FailedPartition[];
  readonly blocked: readonly Day[];
  readonly upstreamFailed: readonly Day[];
  /** Not started: the run was cancelled before them. */
  readonly cancelled: readonly Day[];
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
    readonly cancelled: number;
    /** Warehouse jobs started (commands and queries, retries included). */
    readonly jobs: number;
    /** Jobs abandoned because they did not stop within the grace period. */
    readonly abandoned: number;
  };
  /**
   * Work of abandoned jobs still under way when the run ended (a read blocked in the kernel): the
   * process must end without waiting for it.
   */
  readonly lingering: boolean;
  readonly elapsedMs: number;
  readonly outcome: RunOutcome;
}
