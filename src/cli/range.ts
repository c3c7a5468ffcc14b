/**
 * `--range A..B`: inclusive ISO dates with no time zone; a single date means that day.
 * Anything else is a usage error (exit 2) that says what was wrong with the text.
 */
import { parseIsoDate, type Day, type DayRange } from '../core/dates.js';
import { UserError } from '../core/diagnostics.js';

const HINT = 'write --range YYYY-MM-DD..YYYY-MM-DD (both ends included) or a single date YYYY-MM-DD';

function parseEnd(text: string, whole: string, which: string): Day {
  if (text === '') throw new UserError(`--range '${whole}': the ${which} date is missing`, 2, HINT);
  const day = parseIsoDate(text);
  if (day !== undefined) return day;
  const shaped = /^\d{4}-\d{2}-\d{2}$/.test(text);
  throw new UserError(
    shaped ? `--range '${whole}': ${text} is not a date on the calendar` : `--range '${whole}': cannot read '${text}' as a date (expected YYYY-MM-DD)`,
    2,
    HINT,
  );
}

export function parseRange(text: string): DayRange {
  const whole = text.trim();
  if (whole === '') throw new UserError('--range is empty', 2, HINT);
  const parts = whole.split('..');
  if (parts.length > 2) throw new UserError(`--range '${whole}': use one '..' between two dates`, 2, HINT);
  const start = parseEnd((parts[0] ?? '').trim(), whole, 'start');
  const end = parts.length === 1 ? start : parseEnd((parts[1] ?? '').trim(), whole, 'end');
  if (end < start) throw new UserError(`--range '${whole}': the end comes before the start`, 2, `write the earlier date first; ${HINT}`);
  return { start, end };
}
