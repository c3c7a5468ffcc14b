/**
 * Silence is never the answer (DESIGN §6): the calendar says which days are partitions, so a calendar
 * that has no partition in the range, or stops before the range does, makes a plan expect nothing
 * there and call it all fresh. That is almost always a late schedule load, and a nightly cron must not
 * stay green on it: this module finds it, for a warning, `--exit-code` and daily-mode notices. Pure.
 */
import { makeCalendar } from './calendar.js';
import { formatDay, type Day, type DayRange } from './dates.js';

export interface CalendarBehind {
  /** The node named by `calendar:`. */
  readonly calendar: string;
  readonly range: DayRange;
  /** The part of the range the calendar does not reach: after its last partition, or all of it. */
  readonly uncovered: DayRange;
  /** Calendar partitions inside the range. */
  readonly inRange: number;
  /** The calendar's last partition before the range, and its first after it (when there are). */
  readonly before: Day | undefined;
  readonly after: Day | undefined;
  /** Its last partition overall (undefined: it has none). */
  readonly last: Day | undefined;
}

/**
 * Is the calendar behind the range? `days` are the calendar's partitions, ascending (Snapshot.calendar);
 * undefined `calendar` (no `calendar:`, every day is a partition) is never behind.
 */
export function calendarBehind(calendar: string | undefined, days: readonly Day[] | undefined, range: DayRange): CalendarBehind | undefined {
  if (calendar === undefined) return undefined;
  // The planner made this calendar from the same array already (makeCalendar is memoised).
  const list = makeCalendar(days ?? []);
  const first = list.lowerBound(range.start);
  const afterEnd = list.upperBound(range.end);
  const inRange = afterEnd - first;
  const last = list.dayAt(list.endPosition - 1);
  if (inRange > 0 && last !== undefined && last >= range.end) return undefined;
  const uncovered = inRange > 0 && last !== undefined ? { start: last + 1, end: range.end } : range;
  return { calendar, range, uncovered, inRange, before: list.dayAt(first - 1), after: list.dayAt(afterEnd), last };
}

function rangeText(range: DayRange): string {
  return `${formatDay(range.start)}..${formatDay(range.end)}`;
}

/** The warning, worded for a late load when the calendar stops before the range does. */
export function calendarBehindMessage(b: CalendarBehind): string {
  const name = `the calendar '${b.calendar}'`;
  if (b.inRange > 0) {
    return `${name} ends on ${formatDay(b.last as Day)}, before the range's end ${formatDay(b.range.end)}: a late schedule load? nothing is expected in ${rangeText(b.uncovered)}`;
  }
  const where =
    b.before !== undefined && b.after !== undefined
      ? `none between ${formatDay(b.before)} and ${formatDay(b.after)}`
      : b.after !== undefined
        ? `its first is ${formatDay(b.after)}`
        : b.before !== undefined
          ? `its last is ${formatDay(b.before)}`
          : 'it has no partition at all';
  const late = b.after === undefined ? ': a late schedule load?' : ':';
  return `${name} has no partition in ${rangeText(b.range)} (${where})${late} nothing is expected there`;
}
