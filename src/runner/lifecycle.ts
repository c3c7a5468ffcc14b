/**
 * The lifecycle of a batch job ("task"): contiguous partitions of one processor, one warehouse job per
 * attempt. The runner owns every task's status; each change is checked against the transitions below
 * and emitted as a RunEvent. The reports (summary, --json, `_dag.failures`, the live view) are folds of
 * those events, so they cannot disagree with each other or with what the runner did.
 *
 *   pending ──► waiting-inputs ──► queued ──► running ──► committing ──► built
 *      │  (commands: source versions first)   │  │  │                     │
 *      │                                      │  │  └► waiting-inputs ───┘ (SQL: rows staged, versions pending)
 *      ├► split (upstream-failed days apart)  │  ├► queued (retry after a TRANSIENT failure)
 *      ├► upstream-failed / failed / cancelled│  ├► pending (failed like its parent: decided with its other half)
 *                                             │  └► split (halves) / failed / abandoned
 *
 * (Modelled on microsoft/lage's WrappedTarget + TargetStatus: one object per target whose status only
 * its runner changes, every change logged.)
 */
import type { Day } from '../core/dates.js';
import type { Processor } from '../core/model.js';
import type { JobFailure, RowCounts } from '../warehouse/port.js';
import type { Rejected } from './checks.js';
import type { PartitionKey } from './jobs.js';

/** One unit of work: contiguous days of one processor. Split tasks hand their days to their children. */
export interface Task {
  readonly id: number;
  readonly processor: Processor;
  /** Calendar partitions, ascending and contiguous on the calendar. */
  readonly days: readonly Day[];
  /** Plan order (topological rank, then date); ready tasks start lowest first. Children keep the parent's. */
  readonly index: number;
  /** Per day: the in-plan partitions (of other tasks) it reads. */
  readonly inputsByDay: ReadonlyMap<Day, readonly PartitionKey[]>;
  /** Partitions that must be settled before it may start: what it reads, and a self-reader's earlier days. */
  readonly waitsFor: ReadonlySet<PartitionKey>;
  /** A half of a batch that failed: the failure it was split after, and its other half. */
  readonly half?: { readonly parentFailure: JobFailure; readonly sibling: () => Task };
}

export type TaskStatus =
  /** Created; waits for partitions of this run it reads (or, `after` a failed attempt, for its other half). */
  | { readonly status: 'pending'; readonly after?: JobFailure }
  /** Waits for source versions the run is still recording (its timeout clock is stopped). */
  | { readonly status: 'waiting-inputs' }
  /** Ready: waits for a slot and for access to the target (`retry`: after a TRANSIENT failure and its backoff). */
  | { readonly status: 'queued'; readonly retry?: { readonly after: JobFailure; readonly delayMs: number } }
  /** Its query or command runs; `attempt` counts from 1. */
  | { readonly status: 'running'; readonly attempt: number }
  /** Writing its ledger rows with (SQL) or after (commands) its data. */
  | { readonly status: 'committing' }
  /** Committed. Command batches may leave days absent: those fail (NO_OUTPUT) and are not recorded as built. */
  | {
      readonly status: 'built';
      readonly rows: RowCounts;
      readonly builtAt: number;
      readonly noOutput?: { readonly days: readonly Day[]; readonly failure: JobFailure };
      /** Days an error check failed (CHECK_FAILED): not committed, not recorded as built. */
      readonly rejected?: readonly Rejected[];
    }
  /** Final failure of its partitions. */
  | { readonly status: 'failed'; readonly failure: JobFailure }
  /** Its days went to its children (halves after `failure`, or runs around upstream-failed days). */
  | { readonly status: 'split'; readonly children: readonly Task[]; readonly failure?: JobFailure }
  /** Reads a partition that failed in this run; left as it was. */
  | { readonly status: 'upstream-failed'; readonly failure: JobFailure }
  /** Never started: the run was cancelled first. */
  | { readonly status: 'cancelled' }
  /** Did not stop within the grace period after its cancel or timeout; the run went on without it. */
  | { readonly status: 'abandoned'; readonly failure: JobFailure };

export type StatusName = TaskStatus['status'];

const NEXT: Readonly<Record<StatusName, readonly StatusName[]>> = {
  pending: ['waiting-inputs', 'queued', 'split', 'failed', 'upstream-failed', 'cancelled'],
  'waiting-inputs': ['queued', 'committing', 'failed', 'cancelled', 'abandoned'],
  queued: ['running', 'failed', 'cancelled'],
  running: ['waiting-inputs', 'committing', 'queued', 'pending', 'split', 'failed', 'abandoned'],
  committing: ['built', 'queued', 'pending', 'split', 'failed', 'abandoned'],
  built: [],
  failed: [],
  split: [],
  'upstream-failed': [],
  cancelled: [],
  abandoned: [],
};

/** Statuses a task never leaves. */
export function isFinal(status: TaskStatus): boolean {
  return NEXT[status.status].length === 0;
}

/** Statuses of an attempt under way (its job holds a slot and its access). */
export function inAttempt(status: TaskStatus): boolean {
  return status.status === 'running' || status.status === 'committing' || status.status === 'waiting-inputs';
}

export interface TaskEvent {
  readonly kind: 'task';
  readonly task: Task;
  readonly status: TaskStatus;
  /** The status it left; undefined when the task was just created. */
  readonly from: StatusName | undefined;
  /** Timers.now() of the change, for durations. */
  readonly at: number;
}

/** Owns the status of every task; the only place a status changes. */
export class Lifecycle {
  private readonly statuses = new Map<number, TaskStatus>();
  private nextId = 0;

  constructor(
    private readonly emit: (event: TaskEvent) => void,
    private readonly now: () => number,
  ) {}

  /** A new task in `status` (pending, or already settled: upstream-failed, cancelled). */
  create(fields: Omit<Task, 'id'>, status: TaskStatus = { status: 'pending' }): Task {
    const task = this.make(fields, status);
    this.emit({ kind: 'task', task, status, from: undefined, at: this.now() });
    return task;
  }

  /** Hands the task's days to new tasks: the split first, then each child's creation. */
  split(
    task: Task,
    parts: readonly { readonly fields: (self: () => readonly Task[]) => Omit<Task, 'id'>; readonly status?: TaskStatus }[],
    failure?: JobFailure,
  ): Task[] {
    const children: Task[] = [];
    const made = parts.map((part) =>
      this.make(
        part.fields(() => children),
        part.status ?? { status: 'pending' },
      ),
    );
    children.push(...made);
    this.move(task, failure ? { status: 'split', children, failure } : { status: 'split', children });
    for (const child of children) this.emit({ kind: 'task', task: child, status: this.statusOf(child), from: undefined, at: this.now() });
    return children;
  }

  private make(fields: Omit<Task, 'id'>, status: TaskStatus): Task {
    const task: Task = { ...fields, id: this.nextId++ };
    this.statuses.set(task.id, status);
    return task;
  }

  statusOf(task: Task): TaskStatus {
    const status = this.statuses.get(task.id);
    if (!status) throw new Error(`task ${task.id} is unknown`);
    return status;
  }

  move(task: Task, status: TaskStatus): void {
    const from = this.statusOf(task).status;
    if (!NEXT[from].includes(status.status)) throw new Error(`${task.processor.name} task ${task.id}: no transition from ${from} to ${status.status}`);
    this.statuses.set(task.id, status);
    this.emit({ kind: 'task', task, status, from, at: this.now() });
  }
}
