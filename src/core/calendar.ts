/**
 * The calendar: which days are partitions. Either every day, or the dates present in the table named
 * by `calendar:` (game days). Mappings count *positions* on the calendar (`offset: -1` is the previous
 * game day), so everything here works with integer positions that make neighbours cheap to find.
 */
import { lowerIndex, type Day, type DayRange } from './dates.js';

/**
 * Positions of the every-day calendar are day numbers shifted so they stay non-negative for any
 * date `parseIsoDate` accepts; -1 can then mean "not a calendar day" on both kinds of calendar.
 */
const EVERY_DAY_BASE = 1_000_000;

export interface Calendar {
  /** True for the every-day calendar (no `calendar:` in pipeline.yaml). */
  readonly everyDay: boolean;
  /** The calendar's first partition; undefined for the every-day calendar (it has no first day). */
  readonly first: Day | undefined;
  /** Is this day a partition of the calendar? */
  contains(day: Day): boolean;
  /** The day's position, or -1 when the day is not a calendar day. */
  position(day: Day): number;
  /** The day at a position, or undefined before the first or after the last calendar day. */
  dayAt(position: number): Day | undefined;
  /** Position of the first calendar day >= day (may be one past the last position). */
  lowerBound(day: Day): number;
  /** Position of the first calendar day > day. */
  upperBound(day: Day): number;
  /** Lowest and one-past-highest valid positions: [0, n) or the whole every-day line. */
  readonly minPosition: number;
  readonly endPosition: number;
  /** Calendar days inside the inclusive range, ascending. */
  daysIn(range: DayRange): Day[];
}

/**
 * Calendars already made, by the days array they were made from. One command hands the same snapshot
 * array to the planner, the renderer and `explain`, and indexing a 730k-day calendar takes ~240 ms,
 * so it is made once. Sharing is safe because a Calendar is frozen and copies its days; the array
 * must not change afterwards (Snapshot.calendar is readonly).
 */
const listCalendars = new WeakMap<readonly Day[], Calendar>();

export function makeCalendar(days: readonly Day[] | undefined): Calendar {
  if (days === undefined) return everyDayCalendar;
  let calendar = listCalendars.get(days);
  if (calendar === undefined) listCalendars.set(days, (calendar = listCalendar(days)));
  return calendar;
}

const everyDayCalendar: Calendar = Object.freeze<Calendar>({
  everyDay: true,
  first: undefined,
  contains: () => true,
  position: (day) => day + EVERY_DAY_BASE,
  dayAt: (position) => position - EVERY_DAY_BASE,
  lowerBound: (day) => day + EVERY_DAY_BASE,
  upperBound: (day) => day + 1 + EVERY_DAY_BASE,
  minPosition: Number.MIN_SAFE_INTEGER,
  endPosition: Number.MAX_SAFE_INTEGER,
  daysIn(range) {
    const out: Day[] = [];
    for (let day = range.start; day <= range.end; day++) out.push(day);
    return out;
  },
});

function listCalendar(input: readonly Day[]): Calendar {
  // Snapshots hand over sorted distinct days; sorting again is cheap insurance for hand-made ones.
  const days = Int32Array.from(new Set(input)).sort();
  const index = new Map<Day, number>();
  days.forEach((day, i) => {
    index.set(day, i);
  });
  const lowerBound = (day: Day): number => lowerIndex(days, day);
  return Object.freeze<Calendar>({
    everyDay: false,
    first: days.length > 0 ? days[0] : undefined,
    contains: (day) => index.has(day),
    position: (day) => index.get(day) ?? -1,
    dayAt: (position) => (position >= 0 && position < days.length ? days[position] : undefined),
    lowerBound,
    upperBound: (day) => lowerBound(day + 1),
    minPosition: 0,
    endPosition: days.length,
    daysIn(range) {
      const out: Day[] = [];
      for (let p = lowerBound(range.start); p < days.length && (days[p] as number) <= range.end; p++) out.push(days[p] as number);
      return out;
    },
  });
}
