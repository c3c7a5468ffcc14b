/**
 * One attempt of a task: its warehouse steps, its timeout and its grace period. The processor's
 * timeout counts the job's own time (running, committing), not the wait for a slot, for access or for
 * source versions; on expiry the attempt is aborted (the adapter interrupts its query, the command's
 * process group is killed) and fails TIMEOUT. A Ctrl-C aborts it the same way (CANCELLED). A step that
 * does not end within the grace period after that abort is abandoned: the run goes on without it.
 */
import type { Day } from '../core/dates.js';
import { failed, type BatchJob, type CheckFinding, type JobAccess, type JobFailure, type RowCounts, type Step } from '../warehouse/port.js';
import { firstLine } from '../warehouse/shared.js';
import { checkWarnings, rejectedDays, withoutRejected, type Rejected } from './checks.js';
import { commandAttempt } from './command.js';
import { recordBuilt, type RunContext } from './context.js';
import { fingerprintsOf, latestInput, readsPendingSources, sourceVersionsRecorded } from './inputs.js';
import type { Task, TaskStatus } from './lifecycle.js';

export type AttemptEnd =
  | { readonly kind: 'built'; readonly rows: RowCounts; readonly builtAt: number; readonly absent: readonly Day[]; readonly rejected: readonly Rejected[] }
  | { readonly kind: 'failed'; readonly failure: JobFailure }
  | { readonly kind: 'abandoned'; readonly failure: JobFailure };

/** What a step resolves to when it was abandoned. */
export const ABANDONED = Symbol('abandoned');

/** Moves the task (attempt steps move it to waiting-inputs and committing). */
export type Move = (status: TaskStatus) => void;

/** The clocks and the abort of one attempt; its clock starts stopped (the task waits first). */
export class AttemptControl {
  private readonly controller = new AbortController();
  readonly signal: AbortSignal = this.controller.signal;
  private why: 'timeout' | 'inputs' | 'cancel' | undefined;
  /** Own time used before the clock last stopped; `since`: when it last started. */
  private used = 0;
  private since = 0;
  private running = false;
  private stopClock: (() => void) | undefined;
  private stopGrace: (() => void) | undefined;
  /** Resolves ABANDONED once the grace period after the abort has passed. */
  private readonly giveUp: Promise<typeof ABANDONED>;
  private readonly onRunAbort = (): void => this.abort('cancel');

  constructor(
    private readonly context: RunContext,
    private readonly timeoutMs: number,
    /** How long it may take to stop once aborted (a command's kill sequence comes on top of the run's grace). */
    private readonly graceMs = context.graceMs,
  ) {
    this.giveUp = new Promise((resolve) => {
      const startGrace = (): void => {
        this.stopGrace = context.timers.after(this.graceMs, () => resolve(ABANDONED));
      };
      this.signal.addEventListener('abort', startGrace, { once: true });
    });
    const run = context.options.signal;
    if (run.aborted) this.abort('cancel');
    else run.addEventListener('abort', this.onRunAbort, { once: true });
  }

  /**
   * The job's own time stops: it waits (for access, or with `limitMs` for source versions, which then
   * may take at most that long).
   */
  pause(limitMs?: number): void {
    if (this.running) {
      this.used += this.context.timers.now() - this.since;
      this.running = false;
    }
    this.stopClock?.();
    this.stopClock = limitMs === undefined ? undefined : this.context.timers.after(limitMs, () => this.abort('inputs'));
  }

  /** The job's own time runs again, with what is left of its timeout. */
  resume(): void {
    if (this.aborted) return;
    this.stopClock?.();
    this.running = true;
    this.since = this.context.timers.now();
    this.stopClock = this.context.timers.after(Math.max(0, this.timeoutMs - this.used), () => this.abort('timeout'));
  }

  /**
   * Awaits a step. Once the attempt is aborted it waits at most the grace period more, then gives up:
   * ABANDONED, and the step's late answer goes to `late` (to discard staged rows) whenever it comes.
   */
  async step<T>(work: () => Promise<Step<T>>, late: (answer: Step<T>) => void = () => {}): Promise<Step<T> | typeof ABANDONED> {
    // Adapters return failures; anything thrown is unexpected, and becomes this job's failure.
    const answer = Promise.resolve()
      .then(work)
      .catch((error: unknown) => failed({ category: 'PROCESSOR_ERROR', message: firstLine(error) }));
    const first = await Promise.race([answer, this.giveUp]);
    if (first !== ABANDONED) return first;
    const lingering = answer.then(late, () => undefined);
    this.context.lingering.add(lingering);
    void lingering.finally(() => this.context.lingering.delete(lingering));
    return ABANDONED;
  }

  /** `work`'s answer, or ABANDONED as soon as the attempt is aborted (for waits that hold nothing). */
  untilAborted<T>(work: Promise<T>): Promise<T | typeof ABANDONED> {
    if (this.aborted) return Promise.resolve(ABANDONED);
    return new Promise((resolve, reject) => {
      const stop = (): void => resolve(ABANDONED);
      this.signal.addEventListener('abort', stop, { once: true });
      work.then(
        (value) => {
          this.signal.removeEventListener('abort', stop);
          resolve(value);
        },
        (error: unknown) => {
          this.signal.removeEventListener('abort', stop);
          reject(error);
        },
      );
    });
  }

  /** A failure as this attempt ended it: TIMEOUT or CANCELLED when it was aborted, else as it came. */
  failureOf(failure: JobFailure): JobFailure {
    switch (this.why) {
      case 'timeout':
        return { category: 'TIMEOUT', message: `timed out after ${formatMs(this.timeoutMs)} and was cancelled (${firstLine(failure.message)})` };
      case 'inputs':
        return {
          category: 'TIMEOUT',
          message: `waited ${formatMs(this.timeoutMs)} (its timeout) for the versions of the sources it reads; nothing was committed`,
        };
      case 'cancel':
        return { category: 'CANCELLED', message: 'interrupted: the run was cancelled' };
      case undefined:
        return failure;
    }
  }

  /** Abandoned in `phase`: what is recorded for it. */
  abandoned(phase: 'running' | 'committing'): AttemptEnd {
    const cause = this.failureOf({ category: 'CANCELLED', message: 'abandoned' });
    const seconds = formatMs(this.graceMs);
    const what =
      phase === 'committing'
        ? `it did not finish committing within ${seconds} and was abandoned; the next plan shows whether it was committed`
        : `it did not stop within ${seconds} and was abandoned (nothing of it was committed; the run went on without it)`;
    const head = cause.category === 'TIMEOUT' ? cause.message.replace(/ \(.*\)$/, '') : cause.message;
    return { kind: 'abandoned', failure: { category: cause.category, message: `${head}; ${what}` } };
  }

  get aborted(): boolean {
    return this.signal.aborted;
  }

  get clockRunning(): boolean {
    return this.running;
  }

  /** Clears every timer and listener; the attempt is over. */
  end(): void {
    this.stopClock?.();
    this.stopGrace?.();
    this.context.options.signal.removeEventListener('abort', this.onRunAbort);
  }

  private abort(why: 'timeout' | 'inputs' | 'cancel'): void {
    if (this.signal.aborted) return;
    this.why = why;
    this.stopClock?.();
    this.controller.abort(why);
  }
}

/** The batch job of an attempt, stamped now: strictly after everything it reads (make-style freshness). */
export function jobOf(context: RunContext, task: Task, attempt: number): BatchJob {
  const { options } = context;
  return {
    pipeline: options.pipeline,
    processor: task.processor,
    batch: { start: task.days[0] ?? 0, end: task.days[task.days.length - 1] ?? 0, days: task.days },
    runId: options.runId,
    builtAt: options.clock.next(latestInput(context, task.processor, task.days)),
    codeFingerprint: options.plan.processors.find((p) => p.name === task.processor.name)?.codeFingerprint ?? '',
    attempt,
  };
}

/**
 * An attempt once its job has access: its clock runs, the SQL or command steps, then the access is
 * given back (or, abandoned, let go of for good) and what it built joins the run's live view.
 */
export async function attemptSteps(
  context: RunContext,
  task: Task,
  job: BatchJob,
  access: JobAccess,
  control: AttemptControl,
  move: Move,
): Promise<AttemptEnd> {
  control.resume();
  const end =
    task.processor.action.kind === 'sql'
      ? await sqlAttempt(context, task, job, control, move)
      : await commandAttempt(context, job, fingerprintsOf(context, task.processor, task.days), control, move);
  if (end.kind === 'abandoned') access.abandon();
  else access.release();
  if (end.kind === 'built')
    for (const [day, rows] of end.rows)
      recordBuilt(context.live, task.processor.name, day, { runId: job.runId, builtAt: end.builtAt, rows, codeFingerprint: job.codeFingerprint });
  return end;
}

/**
 * A SQL attempt: stage the rows (running), wait for the source versions they read if the run is still
 * recording them (waiting-inputs), then commit data and ledger rows together (committing).
 */
async function sqlAttempt(context: RunContext, task: Task, job: BatchJob, control: AttemptControl, move: Move): Promise<AttemptEnd> {
  const { warehouse } = context.options;
  const staged = await control.step(
    () => warehouse.stageSqlBatch(job, control.signal),
    (late) => void (late.ok && late.value.discard()),
  );
  if (staged === ABANDONED) return control.abandoned('running');
  if (!staged.ok) return { kind: 'failed', failure: control.failureOf(staged.failure) };
  const rows = staged.value;
  const inputs = await waitForInputs(context, task, control, move);
  if (inputs) {
    void rows.discard();
    return inputs;
  }
  if (control.aborted) {
    void rows.discard();
    return { kind: 'failed', failure: control.failureOf({ category: 'CANCELLED', message: 'stopped before its commit; nothing was written' }) };
  }
  move({ status: 'committing' });
  const committed = await control.step(() => rows.commit(fingerprintsOf(context, task.processor, task.days), control.signal));
  if (committed === ABANDONED) return control.abandoned('committing');
  // A batch that committed stays built even if its timer fired or the run was cancelled meanwhile.
  if (!committed.ok) return { kind: 'failed', failure: control.failureOf(committed.failure) };
  const rejected = rejectedDays(rows.findings);
  warnFindings(context, job, rows.findings);
  return { kind: 'built', rows: withoutRejected(committed.value, rejected), builtAt: job.builtAt, absent: [], rejected };
}

/** `warn` findings of a committed batch, as run warnings (the ledger has them in `_dag.checks`). */
export function warnFindings(context: RunContext, job: BatchJob, findings: readonly CheckFinding[]): void {
  for (const message of checkWarnings(job.processor.name, findings)) context.options.onEvent({ kind: 'warning', message });
}

/**
 * The waiting-inputs step: until the versions of the pending sources the task reads are recorded (at
 * most its timeout; a cancel ends the wait at once: the task holds nothing a late answer could leave).
 * Undefined when there is nothing (more) to wait for; else how the attempt ended.
 */
export async function waitForInputs(context: RunContext, task: Task, control: AttemptControl, move: Move): Promise<AttemptEnd | undefined> {
  if (!readsPendingSources(context, task.processor)) return undefined;
  move({ status: 'waiting-inputs' });
  const wasRunning = control.clockRunning;
  control.pause(task.processor.timeoutMs);
  const failure = await control.untilAborted(sourceVersionsRecorded(context, task.processor));
  if (failure === ABANDONED)
    return { kind: 'failed', failure: control.failureOf({ category: 'CANCELLED', message: 'stopped while waiting for source versions' }) };
  if (failure) return { kind: 'failed', failure };
  if (wasRunning) control.resume();
  else control.pause();
  return undefined;
}

export function formatMs(ms: number): string {
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
