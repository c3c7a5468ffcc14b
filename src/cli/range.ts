/**
 * `--range A..B`: inclusive dates with no time zone; a single date means that day. Each end is an ISO
 * date `YYYY-MM-DD` or, for cron, relative to today (DESIGN §6): `today`, `yesterday`, `-Nd` (N days
 * before today); an open end `A..` runs through today. "Today" is the pipeline's, passed in lazily so
 * an absolute range never reads the clock. Anything else is a usage error (exit 2) that says what was
 * wrong with the text.
 */
import { formatDay, parseIsoDate, type Day, type DayRange } from '../core/dates.js';
import { UserError } from '../core/diagnostics.js';

const HINT = 'write --range YYYY-MM-DD..YYYY-MM-DD (both ends included), a single date, or relative to today: today, yesterday, -7d, -7d..today, 2021-11-01..';
const DAYS_AGO = /^-(\d{1,6})d$/;

function parseEnd(text: string, whole: string, which: string, today: () => Day): Day {
  if (text === '') throw new UserError(`--range '${whole}': the ${which} date is missing`, 2, HINT);
  if (text === 'today') return today();
  if (text === 'yesterday') return today() - 1;
  const ago = DAYS_AGO.exec(text);
  if (ago) return today() - Number(ago[1]);
  const day = parseIsoDate(text);
  if (day !== undefined) return day;
  const shaped = /^\d{4}-\d{2}-\d{2}$/.test(text);
  throw new UserError(
    shaped
      ? `--range '${whole}': ${text} is not a date on the calendar`
      : `--range '${whole}': cannot read '${text}' as a date (expected YYYY-MM-DD, today, yesterday or -Nd)`,
    2,
    HINT,
  );
}

/** `today` is called at most once, and only when the text is relative. */
export function parseRange(text: string, today: () => Day): DayRange {
  const whole = text.trim();
  if (whole === '') throw new UserError('--range is empty', 2, HINT);
  let known: Day | undefined;
  const todayOnce = (): Day => (known ??= today());
  const parts = whole.split('..');
  if (parts.length > 2) throw new UserError(`--range '${whole}': use one '..' between two dates`, 2, HINT);
  const start = parseEnd((parts[0] ?? '').trim(), whole, 'start', todayOnce);
  const endText = (parts[1] ?? '').trim();
  // `A..` is open-ended: through today.
  const end = parts.length === 1 ? start : endText === '' ? todayOnce() : parseEnd(endText, whole, 'end', todayOnce);
  if (end < start) {
    const resolved = known !== undefined ? ` (${formatDay(start)}..${formatDay(end)}, today being ${formatDay(known)})` : '';
    throw new UserError(`--range '${whole}': the end comes before the start${resolved}`, 2, `write the earlier date first; ${HINT}`);
  }
  return { start, end };
}

/** The `--range` option's help text, one wording for every verb. */
export const RANGE_HELP =
  "inclusive dates A..B, e.g. 2021-11-01..2021-11-30; a single date means that day; relative to today in the pipeline's timezone: today, yesterday, -7d, -7d..today, 2021-11-01.. (through today)";
