/**
 * BigQuery errors → dag failure categories. Retrying is the runner's business; this only says which
 * failures are worth retrying (TRANSIENT) and which are final.
 */
import type { FailureCategory, JobFailure } from '../port.js';
import { firstLine } from '../shared.js';
import { OUT_OF_RANGE_MARKER } from './sql.js';

/**
 * Reasons BigQuery documents as worth retrying (https://cloud.google.com/bigquery/docs/error-messages):
 * `jobBackendError` and `jobInternalError` are a job's own backend failures ("retry the job"), beside
 * the request-level `backendError` / `internalError` and the rate limits.
 */
const TRANSIENT_REASONS = new Set(['rateLimitExceeded', 'jobRateLimitExceeded', 'backendError', 'jobBackendError', 'internalError', 'jobInternalError']);
/** BigQuery's own word that a failure is temporary, whatever the reason it carries (often invalidQuery or resourcesExceeded). */
const RETRY_HINT = /Retrying the job may solve the problem/i;
const TRANSIENT_NETWORK = /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|socket hang up|network/i;
const CONFLICT = /Transaction is aborted due to concurrent update|Could not serialize access/i;

/** What the client's ApiError (and plain network errors) carry that matters here. */
interface ErrorLike {
  readonly code?: number | string;
  readonly message?: string;
  readonly errors?: readonly { readonly reason?: string; readonly message?: string }[];
  readonly response?: { readonly status?: { readonly errorResult?: { readonly reason?: string } } };
}

export function errorReasons(error: unknown): string[] {
  const e = (error ?? {}) as ErrorLike;
  const reasons = (e.errors ?? []).map((x) => x.reason ?? '').filter((r) => r !== '');
  const jobReason = e.response?.status?.errorResult?.reason;
  if (jobReason) reasons.push(jobReason);
  return reasons;
}

export function errorMessage(error: unknown): string {
  const e = (error ?? {}) as ErrorLike;
  return firstLine(e.message ?? e.errors?.[0]?.message ?? String(error));
}

export function classify(error: unknown): FailureCategory {
  const e = (error ?? {}) as ErrorLike;
  const message = `${e.message ?? ''} ${(e.errors ?? []).map((x) => x.message ?? '').join(' ')}`;
  if (message.includes(OUT_OF_RANGE_MARKER)) return 'OUT_OF_RANGE_ROWS';
  if (CONFLICT.test(message) || RETRY_HINT.test(message)) return 'TRANSIENT';
  const reasons = errorReasons(error);
  if (reasons.includes('stopped')) return 'CANCELLED';
  if (reasons.some((r) => TRANSIENT_REASONS.has(r))) return 'TRANSIENT';
  const code = typeof e.code === 'number' ? e.code : Number(e.code);
  if (code === 429 || (code >= 500 && code < 600)) return 'TRANSIENT';
  if (reasons.length === 0 && !Number.isFinite(code) && TRANSIENT_NETWORK.test(`${String(e.code ?? '')} ${message}`)) return 'TRANSIENT';
  return 'PROCESSOR_ERROR';
}

/**
 * Errors that do not depend on the data: the query does not compile or bind, an object or a permission
 * is missing, the SELECT's schema does not fit the table. BigQuery says `invalidQuery` for these and for
 * runtime errors alike (a bad cast, a division by zero), so the message decides.
 */
const DATA_INDEPENDENT_REASONS = new Set(['notFound', 'accessDenied', 'billingNotEnabled', 'quotaExceeded']);
const COMPILE_ERROR =
  /^(Syntax error|Unrecognized name|Not found:|Name \S+ not found|No matching signature|Function not found|Table-valued function not found|Query column \d+ has type|Inserted row has wrong column count|Provided Schema does not match|Cannot query over table|Access Denied|Permission denied|Invalid table|Table .* was not found)/i;

export function isDataIndependent(error: unknown): boolean {
  if (errorReasons(error).some((reason) => DATA_INDEPENDENT_REASONS.has(reason))) return true;
  return COMPILE_ERROR.test(errorMessage(error));
}

export function toFailure(error: unknown): JobFailure {
  const category = classify(error);
  const reasons = errorReasons(error);
  const reason = reasons.length > 0 ? ` (${[...new Set(reasons)].join(', ')})` : '';
  const text = errorMessage(error);
  // ERROR()'s text may come behind the engine's own words: the message starts at dag's marker.
  const marked = text.indexOf(`${OUT_OF_RANGE_MARKER}: `);
  const message = `BigQuery: ${marked >= 0 ? text.slice(marked + OUT_OF_RANGE_MARKER.length + 2) : text}${reason}`;
  return category === 'PROCESSOR_ERROR' && isDataIndependent(error) ? { category, message, dataIndependent: true } : { category, message };
}

/** notFound on a dataset or table: a snapshot treats it as "nothing there yet". */
export function isNotFound(error: unknown): boolean {
  const e = (error ?? {}) as ErrorLike;
  return errorReasons(error).includes('notFound') || e.code === 404;
}
