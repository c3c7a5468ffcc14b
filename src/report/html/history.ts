/**
 * The report's run history: the recent runs with their outcomes, and their failures by category
 * (each processor's dates compacted into ranges, with one example message), as static HTML tables.
 * A failed attempt the same run then built (a batch split down to its bad day builds the good ones)
 * is no failure of that run; one a later run built is shown as built since.
 */
import type { Day } from '../../core/dates.js';
import { unfinishedRun, type Snapshot } from '../../core/snapshot.js';
import type { FailureRecord, RunHistory } from '../../warehouse/port.js';
import { compactDays } from '../ranges.js';
import { durationText, groupFindings, runDurationMs } from '../runs.js';
import { escapeHtml } from './escape.js';

/** Whether a failed partition was built after the failure: by the same run, by a later one, or not. */
export type Rebuilt = (failure: FailureRecord) => 'in-run' | 'since' | undefined;

/** From the snapshot's ledger: a finished build of the partition after the failure. */
export function rebuiltFrom(snapshot: Snapshot): Rebuilt {
  return (failure) => {
    const entry = snapshot.ledger.get(failure.processor)?.get(failure.day);
    if (!entry || entry.builtAt <= failure.at || unfinishedRun(entry.codeFingerprint) !== undefined) return undefined;
    return entry.runId === failure.runId ? 'in-run' : 'since';
  };
}

/** Failed partitions of each run (latest attempt per processor and day, not built later by that run), by run id. */
function failedPartitions(failures: readonly FailureRecord[], rebuilt: Rebuilt): Map<string, Map<string, FailureRecord>> {
  const byRun = new Map<string, Map<string, FailureRecord>>();
  for (const f of failures) {
    if (rebuilt(f) === 'in-run') continue;
    let partitions = byRun.get(f.runId);
    if (!partitions) byRun.set(f.runId, (partitions = new Map()));
    const key = `${f.processor}\u0000${f.day}`;
    if (!partitions.has(key)) partitions.set(key, f);
  }
  return byRun;
}

export function runsTable(history: RunHistory, rebuilt: Rebuilt): string {
  if (history.runs.length === 0) return '<p class="empty">No run recorded on this target yet.</p>';
  const byRun = failedPartitions(history.failures, rebuilt);
  const rows = history.runs.map((run) => {
    const failed = [...(byRun.get(run.runId)?.values() ?? [])];
    const root = failed.filter((f) => f.category !== 'UPSTREAM_FAILED').length;
    const outcome = run.outcome ?? (run.endedAt === undefined ? 'running or killed' : 'unknown');
    return `<tr class="run ${escapeHtml(run.outcome ?? 'open')}"><td><code>${escapeHtml(run.runId)}</code></td><td>${new Date(run.startedAt).toISOString().replace('T', ' ').slice(0, 19)}Z</td><td>${durationText(runDurationMs(run))}</td><td>${escapeHtml(run.target)}</td><td class="outcome">${escapeHtml(outcome)}</td><td class="num">${root}</td><td class="num">${failed.length - root}</td><td><code>${escapeHtml(run.commandLine)}</code></td></tr>`;
  });
  return `<table class="runs"><thead><tr><th>run</th><th>started (UTC)</th><th>took</th><th>target</th><th>outcome</th><th>failed</th><th>upstream failed</th><th>command line</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function failuresByCategory(history: RunHistory, rebuilt: Rebuilt): string {
  const partitions = [...failedPartitions(history.failures, rebuilt).values()].flatMap((m) => [...m.values()]);
  if (partitions.length === 0) return '<p class="empty">No failure in the recent runs.</p>';
  const byCategory = new Map<string, Map<string, FailureRecord[]>>();
  for (const f of partitions) {
    let processors = byCategory.get(f.category);
    if (!processors) byCategory.set(f.category, (processors = new Map()));
    const list = processors.get(f.processor) ?? [];
    list.push(f);
    processors.set(f.processor, list);
  }
  // Root causes first (most partitions first); what follows from them (UPSTREAM_FAILED, CANCELLED) last.
  const follows = (category: string): number => (category === 'UPSTREAM_FAILED' || category === 'CANCELLED' ? 1 : 0);
  const size = (processors: Map<string, FailureRecord[]>): number => [...processors.values()].reduce((n, list) => n + list.length, 0);
  const ordered = [...byCategory].sort(([a, pa], [b, pb]) => follows(a) - follows(b) || size(pb) - size(pa) || a.localeCompare(b));
  const sections = ordered.map(([category, processors]) => {
    const total = size(processors);
    const rows = [...processors].map(([processor, list]) => {
      const days = (failures: readonly FailureRecord[]): Day[] => [...new Set(failures.map((f) => f.day))].sort((a, b) => a - b);
      const standing = days(list.filter((f) => rebuilt(f) === undefined));
      const since = days(list.filter((f) => rebuilt(f) === 'since'));
      const runs = [...new Set(list.map((f) => f.runId))];
      const example = list[0]?.message.split('\n')[0] ?? '';
      const dates = (d: readonly Day[]): string => (d.length === 0 ? '—' : escapeHtml(compactDays(d, { maxRanges: 6 })));
      return `<tr><td>${escapeHtml(processor)}</td><td class="num">${standing.length + since.length}</td><td>${dates(standing)}</td><td>${dates(since)}</td><td>${runs.map((r) => `<code>${escapeHtml(r)}</code>`).join(' ')}</td><td class="message">${escapeHtml(example)}</td></tr>`;
    });
    return `<h3><span class="category">${escapeHtml(category)}</span> ×${total}</h3><table class="failures"><thead><tr><th>processor</th><th>partitions</th><th>still failing</th><th>built since</th><th>runs</th><th>message (latest)</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  });
  const truncated = history.failuresTruncated ? '<p class="note">Only the newest failure rows were read; older ones of these runs are left out.</p>' : '';
  return `${sections.join('\n')}${truncated}<p class="note">Counted once per run, processor and date (its latest attempt); <code>dag explain PROCESSOR DATE</code> walks one partition down to its cause.</p>`;
}

/** The recent runs' data-check findings: errors first, per processor and check, with dates, rows, runs and a sample. */
export function checkFindings(history: RunHistory): string {
  if (history.checks.length === 0) return '<p class="empty">No check finding in the recent runs.</p>';
  const groups = groupFindings(history.checks).sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  const rows = groups.map((g) => {
    const days = [...new Set(g.days)].sort((a, b) => a - b);
    const sample = g.sample === undefined ? '' : JSON.stringify(g.sample);
    return `<tr><td class="severity ${g.severity}">${g.severity}</td><td>${escapeHtml(g.processor)}</td><td><code>${escapeHtml(g.check)}</code></td><td class="num">${days.length}</td><td>${escapeHtml(compactDays(days, { maxRanges: 6 }))}</td><td class="num">${g.offending}</td><td>${[...g.runs].map((r) => `<code>${escapeHtml(r)}</code>`).join(' ')}</td><td class="message"><code>${escapeHtml(sample.length > 300 ? `${sample.slice(0, 297)}...` : sample)}</code></td></tr>`;
  });
  const truncated = history.checksTruncated ? '<p class="note">Only the newest findings were read; older ones of these runs are left out.</p>' : '';
  return `<table class="checks"><thead><tr><th>severity</th><th>processor</th><th>check</th><th>dates</th><th>which</th><th>offending rows</th><th>runs</th><th>sample (newest)</th></tr></thead><tbody>${rows.join('')}</tbody></table>${truncated}<p class="note">An <code>error</code> finding left its partitions uncommitted (CHECK_FAILED above); a <code>warn</code> finding was committed and recorded. <code>dag runs RUN_ID</code> lists one run's findings.</p>`;
}
