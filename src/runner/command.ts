/**
 * The command-batch protocol, written once for every adapter (the adapter does each step its way):
 *
 *   markUnfinished → handOver → the command → takeBack → readPartitions → checkPartitions → recordPartitions
 *
 * A command writes its rows outside any dag transaction, so before it starts its partitions are marked
 * unfinished in the ledger: if it fails, times out, or dag dies before the ledger rows are written, the
 * next plan rebuilds them instead of taking half-written ones as fresh. After exit 0 the partitions it
 * left present are recorded; the absent ones are NO_OUTPUT (unless `allow_empty`). While it runs, its
 * process group is recorded in the run's lock, so a run taking over a dead run's lock ends it first.
 */
import type { Day } from '../core/dates.js';
import { tableName, type Processor } from '../core/model.js';
import {
  done,
  type BatchJob,
  type CheckFinding,
  type InputFingerprints,
  type JobFailure,
  type LockOwner,
  type ProcessGroup,
  type RowCounts,
  type Step,
  type Warehouse,
} from '../warehouse/port.js';
import { commandBatchRows, firstLine } from '../warehouse/shared.js';
import { ABANDONED, warnFindings, type AttemptControl, type AttemptEnd, type Move } from './attempt.js';
import { rejectedDays, withoutRejected, type Rejected } from './checks.js';
import type { RunContext } from './context.js';

/** How the protocol's caller runs its steps: the lifecycle bounds each by the attempt's grace period. */
export interface StepHooks {
  readonly signal: AbortSignal;
  step<T>(work: () => Promise<Step<T>>): Promise<Step<T> | typeof ABANDONED>;
  /** The ledger rows are about to be written. */
  committing(): void;
}

export type ProtocolEnd =
  | {
      readonly kind: 'built';
      readonly rows: RowCounts;
      readonly absent: readonly Day[];
      readonly rejected: readonly Rejected[];
      readonly findings: readonly CheckFinding[];
    }
  | { readonly kind: 'failed'; readonly failure: JobFailure }
  | { readonly kind: 'abandoned'; readonly phase: 'running' | 'committing' };

/** The protocol on a target the caller holds (`Warehouse.access`); `spawn` runs the command with the adapter's env. */
export async function commandProtocol(
  warehouse: Warehouse,
  job: BatchJob,
  fingerprints: InputFingerprints,
  spawn: (env: Readonly<Record<string, string>>) => Promise<JobFailure | undefined>,
  hooks: StepHooks,
): Promise<ProtocolEnd> {
  const abandoned = (phase: 'running' | 'committing'): ProtocolEnd => ({ kind: 'abandoned', phase });
  const fail = (failure: JobFailure): ProtocolEnd => ({ kind: 'failed', failure });
  const marked = await hooks.step(() => warehouse.markUnfinished(job, hooks.signal));
  if (marked === ABANDONED) return abandoned('running');
  if (!marked.ok) return fail(marked.failure);
  if (hooks.signal.aborted) return fail({ category: 'CANCELLED', message: 'stopped before the command started' });
  const env = await hooks.step(() => warehouse.handOver(job));
  if (env === ABANDONED) return abandoned('running');
  let exit: JobFailure | undefined = env.ok ? undefined : env.failure;
  if (env.ok) {
    const ran = await hooks.step(async () => done(await spawn(env.value)));
    if (ran === ABANDONED) return abandoned('running');
    exit = ran.ok ? ran.value : ran.failure;
  }
  // However the command ended, the adapter gets the target back before anything else happens.
  const back = await hooks.step(() => warehouse.takeBack(job));
  if (back === ABANDONED) return abandoned('running');
  if (exit) return fail(exit);
  if (!back.ok) return fail(back.failure);
  if (hooks.signal.aborted) return fail({ category: 'CANCELLED', message: 'stopped after the command' });
  const found = await hooks.step(() => warehouse.readPartitions(job, hooks.signal));
  if (found === ABANDONED) return abandoned('running');
  if (!found.ok) return fail(found.failure);
  const present = commandBatchRows(job.processor, job.batch.days, found.value);
  // Checks run on what the command left; a failing day keeps its unfinished marker (never fresh).
  const checked = job.processor.checks.length === 0 ? done([]) : await hooks.step(() => warehouse.checkPartitions(job, hooks.signal));
  if (checked === ABANDONED) return abandoned('running');
  if (!checked.ok) return fail(checked.failure);
  const findings = checked.value;
  const rejected = rejectedDays(findings);
  const rows = withoutRejected(present.rows, rejected);
  const absent = present.absent.filter((day) => !rejected.some((r) => r.day === day));
  hooks.committing();
  const recorded = await hooks.step(() => warehouse.recordPartitions(job, rows, fingerprints, hooks.signal, findings));
  if (recorded === ABANDONED) return abandoned('committing');
  if (!recorded.ok) return fail(recorded.failure);
  return { kind: 'built', rows, absent, rejected, findings };
}

/** The protocol as one attempt of a task: timeouts and cancels from its control, groups into the lock. */
export async function commandAttempt(
  context: RunContext,
  job: BatchJob,
  fingerprints: InputFingerprints,
  control: AttemptControl,
  move: Move,
): Promise<AttemptEnd> {
  const spawn = (env: Readonly<Record<string, string>>) => context.options.commands(job, env, control.signal, context.groups.onGroup);
  const end = await commandProtocol(context.options.warehouse, job, fingerprints, spawn, {
    signal: control.signal,
    step: (work) => control.step(work),
    committing: () => move({ status: 'committing' }),
  });
  switch (end.kind) {
    case 'built':
      warnFindings(context, job, end.findings);
      return { kind: 'built', rows: end.rows, builtAt: job.builtAt, absent: end.absent, rejected: end.rejected };
    case 'failed':
      return { kind: 'failed', failure: control.failureOf(end.failure) };
    case 'abandoned':
      return control.abandoned(end.phase);
  }
}

/** Why a day a command left absent is not built. */
export function noOutputFailure(processor: Processor): JobFailure {
  const table = tableName(processor.table);
  return { category: 'NO_OUTPUT', message: `the command exited 0 but left no rows for ${table} on this date (set allow_empty: true if that is normal)` };
}

/**
 * The command process groups running now, kept in the run's lock (one write at a time, in order).
 * Without a lock owner (tests) they are only counted.
 */
export class CommandGroups {
  private readonly running = new Map<number, ProcessGroup>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly warehouse: Warehouse,
    private readonly owner: LockOwner | undefined,
    private readonly warn: (message: string) => void,
  ) {}

  readonly onGroup = (group: ProcessGroup, running: boolean): void => {
    if (running) this.running.set(group.pgid, group);
    else this.running.delete(group.pgid);
    const owner = this.owner;
    if (!owner) return;
    const groups = [...this.running.values()];
    this.chain = this.chain.then(() =>
      this.warehouse
        .recordCommandGroups(owner, groups)
        .catch((error: unknown) => this.warn(`could not record a command's process group in the lock: ${firstLine(error)}`)),
    );
  };

  flush(): Promise<void> {
    return this.chain;
  }
}
