/**
 * Drives every task of a run through its lifecycle (lifecycle.ts): readiness on the partitions it
 * reads, the ready queue, attempts, and what a failed attempt leads to (policy.ts). Every status change
 * goes through `Lifecycle.move`, which emits it; the book folds those events into partition outcomes.
 *
 * Where each transition happens:
 *   pending → split / upstream-failed / cancelled / failed ........ whenReady
 *     (failed at once: a processor failed as a whole, or reading a table the snapshot could not read)
 *   pending → waiting-inputs (commands) → queued ................... whenReady
 *   queued → running ............................................. execute
 *   running → waiting-inputs → committing (SQL) .................. attempt.ts sqlAttempt
 *   running → committing (commands) .............................. command.ts commandAttempt
 *   running|committing → built / failed / split / queued (retry)
 *                      / pending (awaiting its other half) / abandoned ... afterAttempt
 *   anything not started → failed (processor failed as a whole) ..... failProcessor
 *   anything not started → cancelled ................................ cancelAll
 */
import type { Day } from '../core/dates.js';
import { unbuildable } from '../core/unreadable.js';
import type { JobFailure } from '../warehouse/port.js';
import { AttemptControl, attemptSteps, jobOf, waitForInputs, type AttemptEnd } from './attempt.js';
import { PartitionBook } from './book.js';
import { sleep } from './clock.js';
import { noOutputFailure } from './command.js';
import type { RunContext } from './context.js';
import { partitionKey, type JobGraph, type PartitionKey } from './jobs.js';
import { isFinal, Lifecycle, type Task, type TaskEvent, type TaskStatus } from './lifecycle.js';
import { afterFailure, alike, halves } from './policy.js';
import { ReadyQueue } from './scheduler.js';
import { partsAroundUpstream } from './upstream.js';
import type { PartitionOutcome } from './types.js';

const RETRY_BASE_MS = 200;
/** SIGTERM, 1 s, SIGKILL, up to 1 s for the group to go (spawn.ts and warehouse/process.ts stopGroup). */
const COMMAND_STOP_MS = 2_000;

export function defaultBackoffMs(retry: number): number {
  return Math.round(RETRY_BASE_MS * 2 ** (retry - 1) * (0.5 + Math.random()));
}

export class RunLoop {
  readonly book: PartitionBook;
  private readonly lifecycle: Lifecycle;
  private readonly queue: ReadyQueue;
  private readonly tasks: Task[] = [];
  /** Per pending task: how many partitions it waits for are not settled yet. */
  private readonly unsettled = new Map<number, number>();
  private readonly dependents = new Map<PartitionKey, Task[]>();
  /** Processors that failed as a whole in this run (a data-independent error), with that failure. */
  private readonly broken = new Map<string, JobFailure>();
  /** Processors with a built batch in this run; until then one batch of each runs at a time. */
  private readonly proven = new Set<string>();
  /** Tasks between whenReady and the queue, or in the queue's `start`. */
  private active = 0;
  private open = 0;
  private finish!: (error?: unknown) => void;

  constructor(
    private readonly context: RunContext,
    emit: (event: TaskEvent) => void,
  ) {
    const { options } = context;
    this.book = new PartitionBook((key, outcome) => this.settled(key, outcome));
    this.lifecycle = new Lifecycle((event) => {
      this.book.onEvent(event);
      if (event.from === undefined && !isFinal(event.status)) this.open += 1;
      if (event.from !== undefined && isFinal(event.status)) this.open -= 1;
      emit(event);
    }, context.timers.now);
    // A processor's first batch in the run runs alone: a mistake in its SQL costs one job, and a table
    // that does not exist yet is created by one batch, not by several racing (and conflicting).
    const concurrencyOf = (name: string): number => {
      const node = options.pipeline.nodes.get(name);
      return node?.kind === 'processor' ? node.concurrency : 1;
    };
    const cap = (name: string): number => (this.proven.has(name) ? concurrencyOf(name) : 1);
    // A table the snapshot could not read fails its readers before any job (core/unreadable.ts).
    for (const [name, message] of unbuildable(options.pipeline, options.snapshot.unreadable))
      this.broken.set(name, { category: 'PROCESSOR_ERROR', message, dataIndependent: true });
    this.queue = new ReadyQueue(
      options.concurrency,
      cap,
      (task) => this.execute(task),
      () => options.signal.aborted,
      () => this.checkIdle(),
    );
  }

  run(graph: JobGraph): Promise<void> {
    const done = new Promise<void>((resolve, reject) => (this.finish = (error) => (error === undefined ? resolve() : reject(error))));
    for (const job of graph.jobs) {
      const waitsFor = new Set(job.inputs);
      if (job.after) for (const day of job.after.days) waitsFor.add(partitionKey(job.after.processor.name, day));
      const task = this.lifecycle.create({ processor: job.processor, days: job.days, index: job.index, inputsByDay: job.inputsByDay, waitsFor });
      this.tasks.push(task);
      this.unsettled.set(task.id, waitsFor.size);
      for (const key of waitsFor) {
        const list = this.dependents.get(key);
        if (list) list.push(task);
        else this.dependents.set(key, [task]);
      }
    }
    const { signal } = this.context.options;
    if (signal.aborted) this.cancelAll();
    else signal.addEventListener('abort', () => this.cancelAll(), { once: true });
    for (const task of this.tasks) if (this.unsettled.get(task.id) === 0) this.whenReady(task);
    this.checkIdle();
    return done;
  }

  private status(task: Task): TaskStatus {
    return this.lifecycle.statusOf(task);
  }

  private move(task: Task, status: TaskStatus): void {
    this.lifecycle.move(task, status);
  }

  /** A partition reached its final state: its readers may become ready (after the current event). */
  private settled(key: PartitionKey, outcome: PartitionOutcome): void {
    if (outcome.state === 'built') {
      const [name = ''] = key.split('\u0000');
      if (!this.proven.has(name)) {
        this.proven.add(name);
        queueMicrotask(() => this.queue.pump());
      }
    }
    for (const task of this.dependents.get(key) ?? []) {
      const left = (this.unsettled.get(task.id) ?? 0) - 1;
      this.unsettled.set(task.id, left);
      if (left === 0) queueMicrotask(() => this.whenReady(task));
    }
  }

  /** Everything the task waits for is settled: run it, split it around failed inputs, or settle it. */
  private whenReady(task: Task): void {
    if (isFinal(this.status(task))) return;
    const broken = this.broken.get(task.processor.name);
    if (broken) {
      this.move(task, { status: 'failed', failure: broken });
      return;
    }
    if (this.context.options.signal.aborted) {
      this.move(task, { status: 'cancelled' });
      return;
    }
    const parts = partsAroundUpstream(task, this.book.outcomes);
    const only = parts.length === 1 ? parts[0]?.status : undefined;
    if (only) {
      this.move(task, only);
      return;
    }
    if (parts.length > 1) {
      const children = this.split(
        task,
        parts.map((part) => ({ days: part.days, ...(part.status ? { status: part.status } : {}) })),
      );
      for (const child of children) if (!isFinal(this.status(child))) this.whenReady(child);
      return;
    }
    this.active += 1;
    void this.beforeQueue(task).then(
      () => {
        this.active -= 1;
        if (!isFinal(this.status(task))) this.move(task, { status: 'queued' });
        if (!isFinal(this.status(task))) this.queue.push(task);
        this.checkIdle();
      },
      (error: unknown) => this.finish(error),
    );
  }

  /** Commands wait for the source versions they read before they queue for the (exclusive) target. */
  private async beforeQueue(task: Task): Promise<void> {
    if (task.processor.action.kind !== 'command') return;
    const control = new AttemptControl(this.context, task.processor.timeoutMs);
    try {
      const end = await waitForInputs(this.context, task, control, (status) => this.move(task, status));
      if (!end || end.kind === 'built' || isFinal(this.status(task))) return;
      if (this.context.options.signal.aborted) return this.notStarted(task);
      this.move(task, { status: 'failed', failure: end.failure });
      if (end.failure.dataIndependent) this.failProcessor(task.processor.name, end.failure);
    } finally {
      control.end();
    }
  }

  /** Runs attempts of a task holding a queue slot, until it settles or splits. */
  private async execute(task: Task): Promise<void> {
    try {
      for (let attempt = 1; ; attempt++) {
        if (isFinal(this.status(task))) return;
        const control = new AttemptControl(this.context, task.processor.timeoutMs, this.graceOf(task));
        try {
          const end = await this.attempt(task, attempt, control);
          if (end === undefined) return;
          const delayMs = this.afterAttempt(task, attempt, end);
          if (delayMs === undefined) return;
          await sleep(this.context.timers, delayMs, this.context.options.signal);
          const status = this.status(task);
          if (this.context.options.signal.aborted && status.status === 'queued' && status.retry)
            return this.move(task, { status: 'failed', failure: status.retry.after });
        } finally {
          control.end();
        }
      }
    } catch (error) {
      this.finish(error);
    }
  }

  /**
   * A command's process group gets SIGTERM, then SIGKILL a second later, and dag waits up to a second
   * for it to go: that bounded sequence runs before the grace period counts, so no command is left
   * behind by being abandoned while it is still being killed.
   */
  private graceOf(task: Task): number {
    return task.processor.action.kind === 'command' ? this.context.graceMs + COMMAND_STOP_MS : this.context.graceMs;
  }

  /** One attempt: access, then the warehouse steps. Undefined when the task settled before it started. */
  private async attempt(task: Task, attempt: number, control: AttemptControl): Promise<AttemptEnd | undefined> {
    const job = jobOf(this.context, task, attempt);
    const granted = this.context.options.warehouse.access(job);
    const access = await control.untilAborted(granted);
    if (typeof access === 'symbol' || isFinal(this.status(task))) {
      // Cancelled (or settled) while it waited: whatever access comes later is given back at once.
      void granted.then((late) => late.ok && late.value.release());
      if (!isFinal(this.status(task))) this.notStarted(task);
      return undefined;
    }
    // The target can never be had for it (DuckDB: a command after an abandoned job): no retry, no split.
    if (!access.ok) return { kind: 'failed', failure: { ...access.failure, dataIndependent: true } };
    this.move(task, { status: 'running', attempt });
    return attemptSteps(this.context, task, job, access.value, control, (status) => this.move(task, status));
  }

  /** Moves a task after an attempt; the backoff before the next attempt, when it is retried. */
  private afterAttempt(task: Task, attempt: number, end: AttemptEnd): number | undefined {
    const half = task.half;
    switch (end.kind) {
      case 'built': {
        const noOutput = end.absent.length > 0 ? { noOutput: { days: end.absent, failure: noOutputFailure(task.processor) } } : {};
        const rejected = end.rejected.length > 0 ? { rejected: end.rejected } : {};
        this.move(task, { status: 'built', rows: end.rows, builtAt: end.builtAt, ...noOutput, ...rejected });
        this.halfSettled(task, undefined);
        return undefined;
      }
      case 'abandoned':
        this.move(task, { status: 'abandoned', failure: end.failure });
        this.halfSettled(task, undefined);
        return undefined;
      case 'failed':
        break;
    }
    const failure = end.failure;
    const next = afterFailure(failure, {
      days: task.days.length,
      attempt,
      retries: task.processor.retries,
      cancelled: this.context.options.signal.aborted,
      parentFailure: half?.parentFailure,
    });
    switch (next) {
      case 'processor':
        this.move(task, { status: 'failed', failure });
        this.failProcessor(task.processor.name, failure);
        return undefined;
      case 'retry': {
        const delayMs = (this.context.options.backoffMs ?? defaultBackoffMs)(attempt);
        this.move(task, { status: 'queued', retry: { after: failure, delayMs } });
        return delayMs;
      }
      case 'final':
        this.move(task, { status: 'failed', failure });
        this.halfSettled(task, failure);
        return undefined;
      case 'split':
        this.splitInHalves(task, failure);
        this.halfSettled(task, undefined);
        return undefined;
      case 'await-half': {
        // Failed like its parent: if the other half did too, the error is everywhere: stop splitting.
        const other = half?.sibling();
        const status = other ? this.status(other) : undefined;
        if (other && status?.status === 'pending' && status.after) {
          this.move(other, { status: 'failed', failure: status.after });
          this.move(task, { status: 'failed', failure });
        } else if (half && status?.status === 'failed' && alike(status.failure, half.parentFailure)) this.move(task, { status: 'failed', failure });
        else if (status && !isFinal(status)) this.move(task, { status: 'pending', after: failure });
        else this.splitInHalves(task, failure);
        return undefined;
      }
    }
  }

  /** A half ended (`failure`: failed for good): its other half, if it awaited this one, is decided now. */
  private halfSettled(task: Task, failure: JobFailure | undefined): void {
    const half = task.half;
    if (!half) return;
    const other = half.sibling();
    const status = this.status(other);
    if (status.status !== 'pending' || !status.after) return;
    if (failure && alike(failure, half.parentFailure)) this.move(other, { status: 'failed', failure: status.after });
    else this.splitInHalves(other, status.after);
  }

  private splitInHalves(task: Task, failure: JobFailure): void {
    const [first, second] = halves(task.days);
    const [a, b] = this.split(
      task,
      [
        { days: first, half: 1 },
        { days: second, half: 0 },
      ],
      failure,
    );
    if (a) this.whenReady(a);
    if (b) this.whenReady(b);
  }

  /**
   * Hands a task's days to children: runs of days (with a status when they are settled already), or two
   * halves (`half`: the index of the other half) that know their parent's failure and each other.
   */
  private split(parent: Task, parts: readonly { days: readonly Day[]; status?: TaskStatus; half?: number }[], failure?: JobFailure): Task[] {
    const children = this.lifecycle.split(
      parent,
      parts.map((part) => ({
        fields: (siblings) => {
          const own = new Set(part.days);
          const inputsByDay = new Map([...parent.inputsByDay].filter(([day]) => own.has(day)));
          const other = part.half;
          const half = failure && other !== undefined ? { half: { parentFailure: failure, sibling: () => siblings()[other] as Task } } : {};
          return { processor: parent.processor, days: part.days, index: parent.index, inputsByDay, waitsFor: new Set<PartitionKey>(), ...half };
        },
        ...(part.status ? { status: part.status } : {}),
      })),
      failure,
    );
    this.tasks.push(...children);
    return children;
  }

  /** A data-independent error: every partition of the processor in this run fails with it, at once. */
  private failProcessor(name: string, failure: JobFailure): void {
    this.broken.set(name, failure);
    this.queue.remove((task) => task.processor.name === name);
    for (const task of this.tasks) {
      if (task.processor.name !== name) continue;
      const status = this.status(task);
      if (status.status === 'pending' || status.status === 'queued' || (status.status === 'waiting-inputs' && task.processor.action.kind === 'command'))
        this.move(task, { status: 'failed', failure: status.status === 'pending' && status.after ? status.after : failure });
    }
  }

  /** Ctrl-C: nothing new starts; tasks not started are cancelled (running ones are aborted by their attempt). */
  private cancelAll(): void {
    this.queue.remove(() => true);
    for (const task of this.tasks) {
      const status = this.status(task);
      if (status.status === 'pending' && status.after) this.move(task, { status: 'failed', failure: status.after });
      else if (
        status.status === 'pending' ||
        (status.status === 'queued' && !status.retry) ||
        (status.status === 'waiting-inputs' && task.processor.action.kind === 'command')
      )
        this.notStarted(task);
    }
    queueMicrotask(() => this.checkIdle());
  }

  private notStarted(task: Task): void {
    const status = this.status(task);
    this.move(task, status.status === 'queued' && status.retry ? { status: 'failed', failure: status.retry.after } : { status: 'cancelled' });
  }

  private checkIdle(): void {
    setImmediate(() => {
      if (this.active > 0 || this.queue.busy) return;
      if (this.open === 0) return this.finish();
      if (!this.context.options.signal.aborted) {
        const stuck = this.tasks.filter((task) => !isFinal(this.status(task))).map((task) => `${task.processor.name} ${task.id} ${this.status(task).status}`);
        return this.finish(new Error(`the run stalled with tasks left: ${stuck.join(', ')}`));
      }
      for (const task of this.tasks) if (!isFinal(this.status(task))) this.notStarted(task);
      this.finish();
    });
  }
}
