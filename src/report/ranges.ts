/**
 * Dates as ranges, not lists: `2021-11-01..06, 11-09, 11-14..15`. Days adjacent on the calendar
 * (consecutive game days with a game-day calendar) join one range; later items drop the year (and
 * the month) they share with the item before, so long gaps stay one readable line.
 */
import type { Calendar } from '../core/calendar.js';
import { formatDay, type Day } from '../core/dates.js';

/** Runs of adjacent days, as [first, last] pairs. Input ascending. */
export function dayRuns(days: readonly Day[], calendar?: Calendar): [Day, Day][] {
  const runs: [Day, Day][] = [];
  // On a calendar, neighbours are adjacent positions (-1: not a calendar day, adjacent to nothing).
  const adjacent = calendar
    ? (a: Day, b: Day): boolean => {
        const at = calendar.position(a);
        return at >= 0 && calendar.position(b) === at + 1;
      }
    : (a: Day, b: Day): boolean => b === a + 1;
  for (const d of days) {
    const last = runs[runs.length - 1];
    if (last && adjacent(last[1], d)) last[1] = d;
    else runs.push([d, d]);
  }
  return runs;
}

/** `2021-11-01..2021-11-06`, or one date when start and end are the same day. */
export function dayRangeText(start: Day, end: Day): string {
  return start === end ? formatDay(start) : `${formatDay(start)}..${formatDay(end)}`;
}

/** `b` written relative to `a`: drop the shared year, then the shared month. */
function relative(a: string, b: string): string {
  if (a.slice(0, 7) === b.slice(0, 7)) return b.slice(8);
  if (a.slice(0, 4) === b.slice(0, 4)) return b.slice(5);
  return b;
}

export interface CompactOptions {
  readonly calendar?: Calendar;
  /** Show at most this many ranges, then `(+N more)`. */
  readonly maxRanges?: number;
}

export function compactDays(days: readonly Day[], options: CompactOptions = {}): string {
  const runs = dayRuns(days, options.calendar);
  const shown = options.maxRanges !== undefined ? runs.slice(0, options.maxRanges) : runs;
  let previous: string | undefined;
  const parts = shown.map(([a, b]) => {
    const start = formatDay(a);
    const head = previous === undefined ? start : start.slice(0, 4) === previous.slice(0, 4) ? start.slice(5) : start;
    previous = start;
    if (a === b) return head;
    const end = formatDay(b);
    previous = end;
    return `${head}..${relative(start, end)}`;
  });
  const rest = runs.length - shown.length;
  return parts.join(', ') + (rest > 0 ? `, (+${rest} more)` : '');
}
