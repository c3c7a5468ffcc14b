/** Run-history rows as both adapters read them, made into the port's records the same way. */
import type { Day } from '../core/dates.js';
import type { FailureCategory, FailureRecord, RunHistory, RunRecord } from './port.js';

export const EMPTY_HISTORY: RunHistory = { runs: [], failures: [], failuresTruncated: false };

const OUTCOMES = new Set(['success', 'failed', 'cancelled']);

const optionalNumber = (value: unknown): number | undefined => (value === null || value === undefined ? undefined : Number(value));

/** A `runs` row: ended and outcome stay absent for a run still going (or killed before its end). */
export function runRecordOf(runId: unknown, commandLine: unknown, target: unknown, startedMs: unknown, endedMs: unknown, outcome: unknown): RunRecord {
  const endedAt = optionalNumber(endedMs);
  const said = String(outcome ?? '');
  return {
    runId: String(runId),
    commandLine: String(commandLine ?? ''),
    target: String(target ?? ''),
    startedAt: optionalNumber(startedMs) ?? 0,
    ...(endedAt !== undefined ? { endedAt } : {}),
    ...(OUTCOMES.has(said) ? { outcome: said as RunRecord['outcome'] } : {}),
  };
}

export function failureRecordOf(runId: unknown, processor: unknown, day: Day, category: unknown, message: unknown, attempt: unknown, atMs: unknown): FailureRecord {
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
