/**
 * What a batch's check findings mean for its partitions (DESIGN §9): a day with an `error` finding
 * failed CHECK_FAILED (never retried, its readers UPSTREAM_FAILED); `warn` findings are told, and
 * the partition counts as built. The adapters have already kept the failed days out of the commit.
 */
import { formatDay, type Day } from '../core/dates.js';
import type { CheckFinding, JobFailure, RowCounts } from '../warehouse/port.js';

/** A partition of a batch that was not committed, and why. */
export interface Rejected {
  readonly day: Day;
  readonly failure: JobFailure;
}

function describe(finding: CheckFinding): string {
  const rows = `${finding.offending} offending row${finding.offending === 1 ? '' : 's'}`;
  return `check ${finding.check} found ${rows}, e.g. ${finding.samples.join(', ')}`;
}

/** One CHECK_FAILED failure per day with error findings (all its failing checks in one message). */
export function rejectedDays(findings: readonly CheckFinding[]): Rejected[] {
  const byDay = new Map<Day, CheckFinding[]>();
  for (const finding of findings) {
    if (finding.severity !== 'error') continue;
    const list = byDay.get(finding.day) ?? [];
    list.push(finding);
    byDay.set(finding.day, list);
  }
  return [...byDay]
    .sort(([a], [b]) => a - b)
    .map(([day, list]) => ({
      day,
      failure: {
        category: 'CHECK_FAILED',
        message: `${list.map(describe).join('; ')}; nothing of this partition was committed (the table and the ledger keep what they held)`,
      },
    }));
}

/** The warnings a batch's `warn` findings print, one per finding. */
export function checkWarnings(processor: string, findings: readonly CheckFinding[]): string[] {
  return findings.filter((f) => f.severity === 'warn').map((f) => `${processor} ${formatDay(f.day)}: ${describe(f)} (severity warn: committed)`);
}

/** `rows` without the rejected days. */
export function withoutRejected(rows: RowCounts, rejected: readonly Rejected[]): Map<Day, number> {
  const out = new Map(rows);
  for (const { day } of rejected) out.delete(day);
  return out;
}
