/**
 * Failing well (DESIGN §5): what a failed attempt leads to. The cost of one mistake is one job:
 * - an error that does not depend on the data fails the whole processor for the run at once;
 * - a transient error is retried with backoff, up to the processor's `retries`;
 * - a multi-day batch whose error may depend on the data is split in halves, recursively, and the
 *   splitting stops as soon as both halves fail like their parent (an error on every day: 3 jobs;
 *   one bad day of 31: about 11);
 * - a TIMEOUT, a cancel or a command's missing output is final (splitting would multiply the wait or
 *   the side effects, not find a bad day).
 */
import type { FailureCategory, JobFailure } from '../warehouse/port.js';
import { firstLine } from '../warehouse/shared.js';

export type AfterFailure =
  | 'processor' // fail every partition of the processor in this run
  | 'retry' // the same batch again, after a backoff
  | 'split' // two halves
  | 'await-half' // failed like its parent: final if its other half fails alike too, else split
  | 'final';

const NEVER_SPLIT: ReadonlySet<FailureCategory> = new Set(['TIMEOUT', 'CANCELLED', 'NO_OUTPUT']);

export interface FailureContext {
  readonly days: number;
  readonly attempt: number;
  readonly retries: number;
  /** The run is being cancelled: nothing more starts. */
  readonly cancelled: boolean;
  /** For a half: the failure its parent was split after. */
  readonly parentFailure: JobFailure | undefined;
}

export function afterFailure(failure: JobFailure, context: FailureContext): AfterFailure {
  if (context.cancelled) return 'final';
  if (failure.dataIndependent) return 'processor';
  if (failure.category === 'TRANSIENT' && context.attempt <= context.retries) return 'retry';
  if (context.days <= 1 || NEVER_SPLIT.has(failure.category)) return 'final';
  if (context.parentFailure && alike(failure, context.parentFailure)) return 'await-half';
  return 'split';
}

/**
 * What makes two failures "the same": category and first line, with dates masked (messages name the
 * batch, `P 2021-11-01..2021-11-16: ...`, and a command's log file). Used to stop splitting and to
 * report identical failures once, with their dates.
 */
export function failureKey(failure: Pick<JobFailure, 'category' | 'message'>): string {
  return `${failure.category}\u0000${firstLine(failure.message).replace(/\d{4}-\d{2}-\d{2}/g, '…')}`;
}

export function alike(a: JobFailure, b: JobFailure): boolean {
  return failureKey(a) === failureKey(b);
}

/** The two halves of a batch's days (the first one is the larger). */
export function halves<T>(days: readonly T[]): [T[], T[]] {
  const middle = Math.ceil(days.length / 2);
  return [days.slice(0, middle), days.slice(middle)];
}
