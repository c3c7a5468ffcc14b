/**
 * "Now" and "today", fixed once per invocation (DESIGN §6): every relative range and retention cutoff
 * of one dag command sees the same instant, even a run that starts at 23:59:59 and plans after
 * midnight. `DAG_NOW` (an ISO instant, or a date meaning its UTC midnight) pins it, for tests and for
 * replaying a cron run; otherwise the clock is read once.
 */
import { dayInTimeZone, type Day } from '../core/dates.js';
import { UserError } from '../core/diagnostics.js';
import type { CliIO } from './io.js';

const fixed = new WeakMap<CliIO, number>();

/** The invocation's instant in epoch ms: DAG_NOW when set, else the clock at the first call. */
export function invocationNow(io: CliIO): number {
  const known = fixed.get(io);
  if (known !== undefined) return known;
  const pinned = io.env.DAG_NOW;
  const ms = pinned !== undefined && pinned !== '' ? Date.parse(pinned) : Date.now();
  if (Number.isNaN(ms)) throw new UserError(`DAG_NOW '${pinned}' is not an ISO date or time`, 2, 'unset it, or write e.g. DAG_NOW=2021-11-30T06:00:00Z');
  fixed.set(io, ms);
  return ms;
}

/**
 * Today's date in the pipeline's `timezone:` (UTC when absent), at the invocation's instant. UTC is
 * plain arithmetic: the first Intl.DateTimeFormat with a time zone loads ICU's zone data, ~20 ms of
 * every plan's start-up.
 */
export function invocationToday(io: CliIO, timeZone = 'UTC'): Day {
  const now = invocationNow(io);
  return timeZone === 'UTC' ? Math.floor(now / MS_PER_DAY) : dayInTimeZone(now, timeZone);
}

const MS_PER_DAY = 86_400_000;
