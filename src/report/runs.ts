/**
 * `dag runs` output: the run list, one run's details and the failed partitions, as text tables and as
 * the JSON described by schema/runs-output.schema.json. Pure: the CLI reads the ledger and the logs.
 */
import { formatDay } from '../core/dates.js';
import type { BatchRecord, PartitionFailure, RecordedFinding, RunRecord } from '../warehouse/port.js';
import { firstLine } from '../warehouse/shared.js';
import { FailureGroups, groupJson, groupLine, withoutLabel, type FailureGroup } from './failure-groups.js';
import { compactDays, dayRangeText } from './ranges.js';

/** `41s`, `3m 5s`, `2h 10m`; `—` when unknown. */
export function durationText(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 10_000) return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  return seconds < 60
    ? `${seconds}s`
    : seconds < 3600
      ? `${Math.floor(seconds / 60)}m ${seconds % 60}s`
      : `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

export function runDurationMs(run: RunRecord): number | undefined {
  return run.endedAt === undefined ? undefined : Math.max(0, run.endedAt - run.startedAt);
}

/** `2021-12-01 06:15:01` (UTC). */
export function utcText(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

const iso = (ms: number): string => new Date(ms).toISOString();

export const outcomeOf = (run: RunRecord): string => run.outcome ?? 'unfinished';

/** Columns padded to their widest cell; `right` columns right-aligned; the last column never padded. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number>): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : right.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${all.map(line).join('\n')}\n`;
}

const count = (n: number | undefined): string => (n === undefined ? '—' : String(n));

export function runsListText(runs: readonly RunRecord[]): string {
  if (runs.length === 0) return 'No run recorded on this target yet.\n';
  const rows = runs.map((run) => {
    const s = run.summary;
    return [
      run.runId,
      utcText(run.startedAt),
      durationText(runDurationMs(run)),
      run.target,
      s ? dayRangeText(s.range.start, s.range.end) : '—',
      outcomeOf(run),
      count(s?.built),
      count(s?.failed),
      count(s?.upstreamFailed),
      count(s?.blocked),
      run.commandLine,
    ];
  });
  return textTable(
    ['RUN', 'STARTED (UTC)', 'TOOK', 'TARGET', 'RANGE', 'OUTCOME', 'BUILT', 'FAILED', 'UPSTREAM-FAILED', 'BLOCKED', 'COMMAND'],
    rows,
    new Set([2, 6, 7, 8, 9]),
  );
}

export function runJson(run: RunRecord) {
  const s = run.summary;
  return {
    run_id: run.runId,
    command_line: run.commandLine,
    target: run.target,
    started_at: iso(run.startedAt),
    ended_at: run.endedAt === undefined ? null : iso(run.endedAt),
    duration_ms: runDurationMs(run) ?? null,
    outcome: outcomeOf(run),
    range: s ? { start: formatDay(s.range.start), end: formatDay(s.range.end) } : null,
    counts: s ? { built: s.built, failed: s.failed, upstream_failed: s.upstreamFailed, blocked: s.blocked } : null,
  };
}

export function failureJson(f: PartitionFailure) {
  return {
    run_id: f.runId,
    processor: f.processor,
    date: formatDay(f.day),
    failed_at: iso(f.at),
    category: f.category,
    message: f.message,
    attempts: f.attempts,
    built_since: f.builtSince ? { run_id: f.builtSince.runId, built_at: iso(f.builtSince.at) } : null,
  };
}

/**
 * A failure's message as one line: its first line without the `P 2021-11-05: ` it may start with and,
 * when that line only announces what follows (a command's `...; last lines:`), the last line that follows.
 */
export function messageLine(processor: string, message: string): string {
  const head = withoutLabel(processor, firstLine(message));
  if (!head.endsWith(':')) return head;
  const last = message
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .pop();
  return last === undefined ? head : `${head} ${last}`;
}

const builtSinceText = (f: PartitionFailure): string => (f.builtSince ? `yes (${f.builtSince.runId})` : 'no');

export function failuresText(failures: readonly PartitionFailure[], truncated: boolean): string {
  if (failures.length === 0) return 'No failed partition in these runs.\n';
  const rows = failures.map((f) => [
    f.runId,
    f.processor,
    formatDay(f.day),
    utcText(f.at),
    f.category,
    String(f.attempts),
    builtSinceText(f),
    messageLine(f.processor, f.message),
  ]);
  const table = textTable(['RUN', 'PROCESSOR', 'DATE', 'FAILED AT (UTC)', 'CATEGORY', 'ATTEMPTS', 'BUILT SINCE', 'MESSAGE'], rows, new Set([5]));
  const still = failures.filter((f) => !f.builtSince).length;
  return `${table}\n${failures.length} failed partition${failures.length === 1 ? '' : 's'}, ${still} not built since${truncated ? ' (more exist: narrow with RUN_ID or --limit)' : ''}\n`;
}

/** A run's failed partitions grouped as the run summary groups them, each with how many were built since. */
export function groupFailures(failures: readonly PartitionFailure[]): { group: FailureGroup; builtSince: number }[] {
  const groups = new FailureGroups();
  const built = new Map<FailureGroup, number>();
  // Oldest first, so each group's message is its first failure's.
  for (const f of [...failures].reverse()) {
    const group = groups.add(f.processor, f.day, f);
    built.set(group, (built.get(group) ?? 0) + (f.builtSince ? 1 : 0));
  }
  return groups.all().map((group) => ({ group, builtSince: built.get(group) ?? 0 }));
}

/** A run's findings of one check of one processor at one severity, over the dates it found rows on. */
export interface FindingGroup {
  readonly processor: string;
  readonly check: string;
  readonly severity: RecordedFinding['severity'];
  readonly days: number[];
  /** The runs that found them (the report groups several runs' findings). */
  readonly runs: Set<string>;
  offending: number;
  /** The first sample of the earliest date that has one. */
  sample: unknown;
}

/** Findings grouped by processor, check and severity, in the order read (processor, check, date). */
export function groupFindings(findings: readonly RecordedFinding[]): FindingGroup[] {
  const groups = new Map<string, FindingGroup>();
  for (const f of findings) {
    const key = JSON.stringify([f.processor, f.check, f.severity]);
    let group = groups.get(key);
    if (!group) {
      group = { processor: f.processor, check: f.check, severity: f.severity, days: [], runs: new Set(), offending: 0, sample: undefined };
      groups.set(key, group);
    }
    group.days.push(f.day);
    group.runs.add(f.runId);
    group.offending += f.offending;
    if (group.sample === undefined) group.sample = f.samples[0];
  }
  return [...groups.values()];
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** `warn  row_count ×2 2021-11-06..07: 2 offending rows, e.g. {"rows":0}` (the sample cut to a line's worth). */
export function findingLine(group: FindingGroup): string {
  const count = group.days.length > 1 ? ` ×${group.days.length}` : '';
  const json = group.sample === undefined ? undefined : JSON.stringify(group.sample);
  const sample = json === undefined ? '' : `, e.g. ${json.length > 200 ? `${json.slice(0, 197)}...` : json}`;
  return `${group.severity.padEnd(5)} ${group.check}${count} ${compactDays(group.days)}: ${plural(group.offending, 'offending row')}${sample}`;
}

export interface RunView {
  readonly run: RunRecord;
  readonly batches: readonly BatchRecord[];
  readonly failures: readonly PartitionFailure[];
  readonly truncated: boolean;
  readonly checks: readonly RecordedFinding[];
  readonly checksTruncated: boolean;
  /** A batch's log file, when it is on this machine. */
  readonly logOf: (batch: BatchRecord) => string | undefined;
  /** Every log file of the run found here. */
  readonly logs: readonly { readonly processor: string; readonly range: string; readonly path: string }[];
}

const batchDuration = (b: BatchRecord): number | undefined =>
  b.startedAt !== undefined && b.endedAt !== undefined ? Math.max(0, b.endedAt - b.startedAt) : undefined;

/** Batches listed in text; `--json` lists them all. */
const TEXT_BATCHES = 200;

export function runText(view: RunView): string {
  const { run } = view;
  const s = run.summary;
  const out: string[] = [
    `run ${run.runId} on ${run.target}: ${outcomeOf(run)}`,
    `  started ${utcText(run.startedAt)} UTC, took ${durationText(runDurationMs(run))}${s ? `; range ${dayRangeText(s.range.start, s.range.end)}` : ''}`,
    s
      ? `  built ${s.built}, failed ${s.failed}, upstream-failed ${s.upstreamFailed}, blocked ${s.blocked}`
      : '  no range or counts recorded (a run still going, killed, or recorded before ledger version 3)',
    `  command: ${run.commandLine}`,
    '',
  ];
  if (view.batches.length === 0) out.push('Batches: none recorded', '');
  else {
    const shown = view.batches.slice(0, TEXT_BATCHES);
    const rows = shown.map((b) => [
      b.processor,
      dayRangeText(b.start, b.end),
      b.outcome,
      b.category ?? '',
      String(b.attempts),
      b.rows === undefined ? '' : String(b.rows),
      durationText(batchDuration(b)),
    ]);
    out.push('Batches:', textTable(['PROCESSOR', 'DATES', 'OUTCOME', 'CATEGORY', 'ATTEMPTS', 'ROWS', 'TOOK'], rows, new Set([4, 5, 6])).trimEnd());
    if (view.batches.length > shown.length) out.push(`(+${view.batches.length - shown.length} more batches; --json lists all)`);
    out.push('');
  }
  const groups = groupFailures(view.failures);
  if (groups.length === 0) out.push('Failures: none', '');
  else {
    out.push('Failures:');
    for (const { group, builtSince } of groups)
      out.push(`  ${group.processor}  ${groupLine(group)}${builtSince > 0 ? ` (built since: ${builtSince} of ${group.days.length})` : ''}`);
    if (view.truncated) out.push('  (more failed partitions exist: dag runs --failures lists them)');
    out.push('');
  }
  const findings = groupFindings(view.checks);
  if (findings.length > 0) {
    out.push('Checks:');
    const width = Math.max(...findings.map((g) => g.processor.length));
    for (const group of findings) out.push(`  ${group.processor.padEnd(width)}  ${findingLine(group)}`);
    if (view.checksTruncated) out.push('  (more findings exist: --json lists the first 10000, _dag.checks holds them all)');
    out.push('');
  }
  if (view.logs.length > 0) {
    out.push('Logs:');
    for (const log of view.logs) out.push(`  ${log.processor} ${log.range}  ${log.path}`);
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

export function runDetailJson(target: string, view: RunView) {
  return {
    target,
    run: runJson(view.run),
    batches: view.batches.map((b) => ({
      processor: b.processor,
      start: formatDay(b.start),
      end: formatDay(b.end),
      outcome: b.outcome,
      category: b.category ?? null,
      attempts: b.attempts,
      rows: b.rows ?? null,
      duration_ms: batchDuration(b) ?? null,
      log: view.logOf(b) ?? null,
    })),
    failures: view.failures.map(failureJson),
    failure_groups: groupFailures(view.failures).map(({ group, builtSince }) => ({ ...groupJson(group), built_since: builtSince })),
    truncated: view.truncated,
    checks: groupFindings(view.checks).map((g) => ({
      processor: g.processor,
      check: g.check,
      severity: g.severity,
      count: g.days.length,
      dates: g.days.map(formatDay),
      offending_rows: g.offending,
      sample: g.sample ?? null,
    })),
    checks_truncated: view.checksTruncated,
    logs: view.logs.map((log) => log.path),
  };
}
