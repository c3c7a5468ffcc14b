/** Run-history rows as both adapters read them, made into the port's records the same way. */
import type { Day } from '../core/dates.js';
import type { BatchRecord, FailureCategory, FailureRecord, PartitionFailure, RecordedFinding, RunHistory, RunRecord, RunSummary } from './port.js';

export const EMPTY_HISTORY: RunHistory = { runs: [], failures: [], failuresTruncated: false, checks: [], checksTruncated: false };

const OUTCOMES = new Set(['success', 'failed', 'cancelled']);

const optionalNumber = (value: unknown): number | undefined => (value === null || value === undefined ? undefined : Number(value));

/**
 * The summary columns of a `runs` row (range_start and range_end as Day numbers, then built, failed,
 * upstream_failed, blocked); absent when the row has none (a start row, a run recorded before version 3).
 */
export function runSummaryOf(values: readonly unknown[]): RunSummary | undefined {
  const [start, end, built, failed, upstreamFailed, blocked] = values.map(optionalNumber);
  if (start === undefined || end === undefined) return undefined;
  return { range: { start, end }, built: built ?? 0, failed: failed ?? 0, upstreamFailed: upstreamFailed ?? 0, blocked: blocked ?? 0 };
}

/** A `runs` row: ended and outcome stay absent for a run still going (or killed before its end). */
export function runRecordOf(
  runId: unknown,
  commandLine: unknown,
  target: unknown,
  startedMs: unknown,
  endedMs: unknown,
  outcome: unknown,
  summary?: RunSummary,
): RunRecord {
  const endedAt = optionalNumber(endedMs);
  const said = String(outcome ?? '');
  return {
    runId: String(runId),
    commandLine: String(commandLine ?? ''),
    target: String(target ?? ''),
    startedAt: optionalNumber(startedMs) ?? 0,
    ...(endedAt !== undefined ? { endedAt } : {}),
    ...(OUTCOMES.has(said) ? { outcome: said as RunRecord['outcome'] } : {}),
    ...(summary ? { summary } : {}),
  };
}

const BATCH_OUTCOMES = new Set(['built', 'failed', 'abandoned', 'upstream_failed']);

/** A `batches` row (dates as Day numbers). */
export function batchRecordOf(
  runId: unknown,
  processor: unknown,
  start: Day,
  end: Day,
  outcome: unknown,
  category: unknown,
  attempts: unknown,
  rows: unknown,
  startedMs: unknown,
  endedMs: unknown,
): BatchRecord {
  const said = String(outcome);
  const [rowCount, startedAt, endedAt] = [rows, startedMs, endedMs].map(optionalNumber);
  return {
    runId: String(runId),
    processor: String(processor),
    start,
    end,
    outcome: (BATCH_OUTCOMES.has(said) ? said : 'failed') as BatchRecord['outcome'],
    ...(category !== null && category !== undefined ? { category: String(category) as FailureCategory } : {}),
    attempts: Number(attempts ?? 0),
    ...(rowCount !== undefined ? { rows: rowCount } : {}),
    ...(startedAt !== undefined ? { startedAt } : {}),
    ...(endedAt !== undefined ? { endedAt } : {}),
  };
}

/** A failed partition with its attempt count and the later build that holds now, if any. */
export function partitionFailureOf(failure: FailureRecord, attempts: unknown, builtBy: unknown, builtAtMs: unknown): PartitionFailure {
  const at = optionalNumber(builtAtMs);
  return {
    ...failure,
    attempts: Number(attempts ?? 1),
    ...(builtBy !== null && builtBy !== undefined && at !== undefined ? { builtSince: { runId: String(builtBy), at } } : {}),
  };
}

export function failureRecordOf(
  runId: unknown,
  processor: unknown,
  day: Day,
  category: unknown,
  message: unknown,
  attempt: unknown,
  atMs: unknown,
): FailureRecord {
  return {
    runId: String(runId),
    processor: String(processor),
    day,
    category: String(category) as FailureCategory,
    message: String(message ?? ''),
    attempt: Number(attempt ?? 0),
    at: Number(atMs ?? 0),
  };
}

/** `samples` as recorded: a JSON array of rows; text that is not one is kept as a single sample. */
function samplesOf(text: unknown): unknown[] {
  if (text === null || text === undefined || text === '') return [];
  try {
    const parsed: unknown = JSON.parse(String(text));
    return Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    return [String(text)];
  }
}

/** A `checks` row (the date as a Day number). */
export function findingRecordOf(
  runId: unknown,
  processor: unknown,
  check: unknown,
  severity: unknown,
  day: Day,
  offending: unknown,
  samples: unknown,
): RecordedFinding {
  return {
    runId: String(runId),
    processor: String(processor),
    check: String(check),
    severity: String(severity) === 'error' ? 'error' : 'warn',
    day,
    offending: Number(offending ?? 0),
    samples: samplesOf(samples),
  };
}
