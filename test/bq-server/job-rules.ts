/**
 * What BigQuery checks on jobs.insert before a job runs, and the server did not:
 * - labels: keys and values of at most 63 characters, lowercase letters, digits, `_` and `-`; keys
 *   start with a letter; values may be empty (https://cloud.google.com/bigquery/docs/labels-intro#requirements);
 *   a bad label fails the request with `invalid`.
 * - `maximumBytesBilled`: a query that would bill more fails with `bytesBilledLimitExceeded` and
 *   bills nothing; on-demand queries bill at least 10 MB each, so a cap below that fails every query
 *   ("Query exceeded limit for bytes billed: 1000000. 10485760 or higher required.":
 *   https://cloud.google.com/bigquery/docs/best-practices-costs#limit_query_costs_by_restricting_the_number_of_bytes_billed).
 *   Bytes are the server's own estimate (engine.ts estimateBytes), so only the rule is real here.
 */
import { BigqueryLikeError } from './translate.js';

const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
export const MINIMUM_BILLED_BYTES = 10 * 1024 * 1024;

export function checkLabels(labels: unknown): void {
  if (labels === undefined || labels === null) return;
  for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
    if (!LABEL_KEY.test(key)) throw new BigqueryLikeError(400, 'invalid', `Invalid label key: ${key}`);
    if (typeof value !== 'string' || !LABEL_VALUE.test(value))
      throw new BigqueryLikeError(400, 'invalid', `Invalid label value: ${String(value)} for key ${key}`);
  }
}

/** Fails a job whose billed bytes (at least the 10 MB minimum) exceed its maximumBytesBilled. */
export function checkBytesBilled(maximumBytesBilled: unknown, estimatedBytes: number): void {
  if (maximumBytesBilled === undefined || maximumBytesBilled === null) return;
  const cap = Number(maximumBytesBilled);
  const billed = Math.max(MINIMUM_BILLED_BYTES, estimatedBytes);
  if (Number.isFinite(cap) && billed > cap)
    throw new BigqueryLikeError(400, 'bytesBilledLimitExceeded', `Query exceeded limit for bytes billed: ${cap}. ${billed} or higher required.`);
}
