/**
 * BigQuery errors → dag failure categories. Retrying is the runner's business; this only says which
 * failures are worth retrying (TRANSIENT) and which are final.
 */
import type { FailureCategory, JobFailure } from '../port.js';
import { firstLine } from '../shared.js';
import { OUT_OF_RANGE_MARKER } from './sql.js';

const TRANSIENT_REASONS = new Set(['rateLimitExceeded', 'jobRateLimitExceeded', 'backendError', 'internalError', 'jobInternalError']);
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
  if (CONFLICT.test(message)) return 'TRANSIENT';
  const reasons = errorReasons(error);
  if (reasons.includes('stopped')) return 'CANCELLED';
  if (reasons.some((r) => TRANSIENT_REASONS.has(r))) return 'TRANSIENT';
  const code = typeof e.code === 'number' ? e.code : Number(e.code);
  if (code === 429 || (code >= 500 && code < 600)) return 'TRANSIENT';
  if (reasons.length === 0 && !Number.isFinite(code) && TRANSIENT_NETWORK.test(`${String(e.code ?? '')} ${message}`)) return 'TRANSIENT';
  return 'PROCESSOR_ERROR';
}

export function toFailure(error: unknown): JobFailure {
  const category = classify(error);
  const reasons = errorReasons(error);
  const reason = reasons.length > 0 ? ` (${[...new Set(reasons)].join(', ')})` : '';
  const message = errorMessage(error).replace(`${OUT_OF_RANGE_MARKER}: `, '');
  return { category, message: `BigQuery: ${message}${reason}` };
}

/** notFound on a dataset or table: a snapshot treats it as "nothing there yet". */
export function isNotFound(error: unknown): boolean {
  const e = (error ?? {}) as ErrorLike;
  return errorReasons(error).includes('notFound') || e.code === 404;
}
