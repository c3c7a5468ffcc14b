/**
 * The end of `dag run`: a summary table (built, failed by category, blocked, upstream-failed per
 * processor, with the run id and elapsed time) and the `--json` object, which is also what webhooks get.
 * Both come from the run's result, which the runner folded from its task events, so they agree with
 * each other and with the ledger. Identical failures are one line with their dates (failure-groups.ts).
 */
import { formatDay, type Day } from '../core/dates.js';
import type { RunResult } from '../runner/types.js';
import type { FailureCategory } from '../warehouse/port.js';
import { FailureGroups, groupJson, groupLine } from './failure-groups.js';
import { dayRangeText, dayRuns } from './ranges.js';

export interface RunJson {
  readonly run_id: string;
  readonly pipeline: string;
  readonly target: string;
  readonly range: { readonly start: string; readonly end: string };
  readonly outcome: RunResult['outcome'];
  readonly processors: readonly {
    readonly name: string;
    readonly built: readonly string[];
    readonly failed: readonly { readonly date: string; readonly category: FailureCategory; readonly message: string }[];
    readonly blocked: readonly string[];
    readonly upstream_failed: readonly string[];
    /** Not started: the run was cancelled before them. */
    readonly cancelled: readonly string[];
  }[];
  /** Identical failures once each, with their dates (`processors[].failed` keeps one entry per partition). */
  readonly failures: readonly ReturnType<typeof groupJson>[];
  readonly totals: {
    readonly built: number;
    readonly failed: number;
    readonly blocked: number;
    readonly upstream_failed: number;
    readonly cancelled: number;
    readonly jobs: number;
    readonly abandoned: number;
  };
  readonly elapsed_ms: number;
}

export function runResultToJson(result: RunResult): RunJson {
  return {
    run_id: result.runId,
    pipeline: result.pipeline,
    target: result.target,
    range: { start: formatDay(result.range.start), end: formatDay(result.range.end) },
    outcome: result.outcome,
    processors: result.processors.map((p) => ({
      name: p.name,
      built: p.built.map(formatDay),
      failed: p.failed.map((f) => ({ date: formatDay(f.day), category: f.category, message: f.message })),
      blocked: p.blocked.map(formatDay),
      upstream_failed: p.upstreamFailed.map(formatDay),
      cancelled: p.cancelled.map(formatDay),
    })),
    failures: failureGroups(result).map(groupJson),
    totals: {
      built: result.totals.built,
      failed: result.totals.failed,
      blocked: result.totals.blocked,
      upstream_failed: result.totals.upstreamFailed,
      cancelled: result.totals.cancelled,
      jobs: result.totals.jobs,
      abandoned: result.totals.abandoned,
    },
    elapsed_ms: Math.round(result.elapsedMs),
  };
}

/** Collapses ascending days into `2021-11-01..2021-11-06, 2021-11-09` (full dates, unlike compactDays in ranges.ts). */
function fullDateRuns(days: readonly Day[]): string {
  return dayRuns(days)
    .map(([start, end]) => dayRangeText(start, end))
    .join(', ');
}

function byCategory(failed: RunResult['processors'][number]['failed']): string {
  if (failed.length === 0) return '-';
  const counts = new Map<string, number>();
  for (const f of failed) counts.set(f.category, (counts.get(f.category) ?? 0) + 1);
  return [...counts].map(([category, count]) => `${count} ${category}`).join(', ');
}

function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === 0 || i === 2 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function renderRunSummary(result: RunResult): string {
  const rows: string[][] = [['processor', 'built', 'failed', 'blocked', 'upstream failed']];
  for (const p of result.processors)
    rows.push([p.name, String(p.built.length), byCategory(p.failed), String(p.blocked.length), String(p.upstreamFailed.length)]);
  const t = result.totals;
  const allFailed = result.processors.flatMap((p) => p.failed);
  rows.push(['total', String(t.built), byCategory(allFailed), String(t.blocked), String(t.upstreamFailed)]);
  const lines = ['', `run ${result.runId} on target ${result.target}, ${dayRangeText(result.range.start, result.range.end)}: ${result.outcome}`, table(rows)];
  const failures = failureLines(result);
  if (failures.length > 0) lines.push('', 'failures:', ...failures);
  const upstream = result.processors.filter((p) => p.upstreamFailed.length > 0).map((p) => `  ${p.name} ${fullDateRuns(p.upstreamFailed)}`);
  if (upstream.length > 0) lines.push('', 'not built because an upstream partition failed (left as they were):', ...upstream);
  const cancelled = result.processors.filter((p) => p.cancelled.length > 0).map((p) => `  ${p.name} ${fullDateRuns(p.cancelled)}`);
  if (cancelled.length > 0) lines.push('', 'not started: the run was cancelled first (left as they were):', ...cancelled);
  const abandoned = t.abandoned > 0 ? `, ${t.abandoned} abandoned (did not stop within the grace period)` : '';
  lines.push('', `${t.jobs} job${t.jobs === 1 ? '' : 's'}${abandoned}, ${(result.elapsedMs / 1000).toFixed(1)}s elapsed`);
  return `${lines.join('\n')}\n`;
}

function failureGroups(result: RunResult): ReturnType<FailureGroups['all']> {
  const groups = new FailureGroups();
  for (const p of result.processors) for (const f of p.failed) groups.add(p.name, f.day, f);
  return groups.all();
}

/** One line per distinct failure of a processor (`P PROCESSOR_ERROR ×30 2021-11-01..30: ...`), then its message's other lines. */
function failureLines(result: RunResult): string[] {
  const lines: string[] = [];
  for (const group of failureGroups(result)) {
    lines.push(`  ${group.processor} ${groupLine(group)}`);
    for (const line of group.message.split('\n').slice(1)) lines.push(`    ${line}`);
  }
  return lines;
}
