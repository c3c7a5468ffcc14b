/**
 * Dates are calendar dates with no time zone. Inside dag a date is a day number (days since
 * 1970-01-01), which keeps 100k-partition plans cheap; ISO strings appear only at the edges.
 */
export type Day = number;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

/** Parses a strict `YYYY-MM-DD`; `2021-11-31` and `2021-2-1` are rejected (undefined). */
export function parseIsoDate(text: string): Day | undefined {
  const match = ISO_DATE.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) return undefined;
  return Math.round(ms / MS_PER_DAY);
}

export function formatDay(day: Day): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

export function dayToMs(day: Day): number {
  return day * MS_PER_DAY;
}

/** An inclusive range of days: `A..B` includes both ends. */
export interface DayRange {
  readonly start: Day;
  readonly end: Day;
}

/** Milliseconds per duration unit, for pipeline.yaml durations and `dag run --wait`. */
export const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** First index of ascending `sorted` whose value is >= `value` (sorted.length when none): binary search. */
export function lowerIndex(sorted: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The calendar date at instant `ms` in IANA time zone `timeZone` (e.g. 'America/New_York'): what
 * "today" means for relative ranges and retention. Intl does the zone arithmetic (DST included), so
 * the core stays free of a time-zone table; the instant is passed in, never read from a clock here.
 */
export function dayInTimeZone(ms: number, timeZone: string): Day {
  const parts = dayFormatter(timeZone).formatToParts(new Date(ms));
  const part = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  return Math.round(Date.UTC(part('year'), part('month') - 1, part('day')) / MS_PER_DAY);
}

/** Whether Intl knows `name` as an IANA time zone (or UTC). */
export function isTimeZone(name: string): boolean {
  try {
    dayFormatter(name);
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function dayFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    // en-US with numeric parts; 'u-ca-gregory' so a locale default calendar never changes the year.
    formatter = new Intl.DateTimeFormat('en-US-u-ca-gregory', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}
