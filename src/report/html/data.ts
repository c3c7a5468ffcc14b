/**
 * What the report page shows, as plain data the page's script draws from: one status letter per day
 * and processor (grid.ts's letters), a tooltip text per non-fresh partition, and the run history.
 * Built in one pass over the plan; the tooltip texts are capped (2 MB) so a plan of millions of non-fresh
 * partitions still makes a page a browser opens (the cell keeps its colour and letter; its tooltip then
 * says to ask `dag explain`).
 */
import type { Calendar } from '../../core/calendar.js';
import { formatDay, type Day } from '../../core/dates.js';
import type { PartitionPlan, Plan, StaleReason } from '../../core/plan.js';
import type { Snapshot } from '../../core/snapshot.js';
import { unfinishedRun } from '../../core/snapshot.js';
import type { FailureRecord, RunHistory } from '../../warehouse/port.js';
import { CELL_SYMBOL, cellStates } from '../grid.js';
import { compactDays } from '../ranges.js';

/** Folded columns as in `--grid`: a day each up to a year, then weeks, then months. */
export type ColumnUnit = 'day' | 'week' | 'month';

export interface HeatmapRow {
  readonly name: string;
  readonly table: string;
  /** One letter per day of the range (CELL_SYMBOL; ' ' where no partition is expected). */
  readonly cells: string;
  readonly counts: Plan['processors'][number]['counts'];
  /** Tooltip text by day offset from the range's start, for non-fresh partitions. */
  readonly notes: Readonly<Record<number, string>>;
}

export interface ReportData {
  readonly pipeline: string;
  readonly target: string;
  readonly start: string;
  readonly end: string;
  /** Day number of the range's first day (days since 1970-01-01): the page's script counts from it. */
  readonly startDay: Day;
  readonly days: number;
  readonly unit: ColumnUnit;
  readonly rows: readonly HeatmapRow[];
  /** True when some tooltips were left out to keep the page small. */
  readonly notesCapped: boolean;
}

/** Tooltip characters kept in the page, in all (about 2 MB: ~20,000 tooltips); enough for every non-fresh partition of most plans. */
const NOTE_BUDGET = 2_000_000;

export function columnUnit(days: number): ColumnUnit {
  return days <= 400 ? 'day' : days <= 3700 ? 'week' : 'month';
}

function reasonText(reason: StaleReason, calendar: Calendar): string {
  // Read generically: the reason kinds grow (DESIGN §3), and each says what it is by its fields.
  const r = reason as { kind: string; upstream?: string; days?: readonly Day[]; was?: unknown; now?: unknown };
  if (r.upstream !== undefined) return `${r.kind}: ${r.upstream} ${compactDays(r.days ?? [], { calendar, maxRanges: 4 })}`;
  if (r.kind === 'code_changed') {
    const run = unfinishedRun(String(r.was));
    return run !== undefined ? `code_changed: its command did not finish in run ${run}` : 'code_changed: its SQL, command or mapping changed';
  }
  if (r.kind === 'rows_changed') return `rows_changed: the ledger recorded ${String(r.was)} rows, the table holds ${String(r.now)}`;
  return r.kind;
}

function partitionNote(p: PartitionPlan, calendar: Calendar, failure: FailureRecord | undefined, failedCategory: string | undefined): string {
  const lines: string[] = [];
  if (p.action === 'blocked') {
    lines.push(`${p.status}, blocked: ${p.category ?? ''}`);
    for (const need of p.needs ?? []) lines.push(`lacks ${need.upstream} ${compactDays(need.days, { calendar, maxRanges: 4 })}`);
  } else {
    lines.push(p.status === 'stale' ? 'stale: will be rebuilt' : 'missing: will be built');
  }
  for (const reason of p.reasons ?? []) lines.push(reasonText(reason, calendar));
  if (failure)
    lines.push(`last failure: ${failure.category} in run ${failure.runId} (${new Date(failure.at).toISOString()}): ${failure.message.split('\n')[0] ?? ''}`);
  else if (failedCategory !== undefined) lines.push(`last failure: ${failedCategory}`);
  return lines.join('\n');
}

/** The newest failure of each processor and day among the history's rows (they come newest first). */
export function latestFailures(history: RunHistory): Map<string, Map<Day, FailureRecord>> {
  const latest = new Map<string, Map<Day, FailureRecord>>();
  for (const failure of history.failures) {
    let days = latest.get(failure.processor);
    if (!days) latest.set(failure.processor, (days = new Map()));
    if (!days.has(failure.day)) days.set(failure.day, failure);
  }
  return latest;
}

export function reportData(plan: Plan, snapshot: Snapshot, calendar: Calendar, history: RunHistory): ReportData {
  const { start, end } = plan.range;
  const days = end - start + 1;
  const failuresByProcessor = latestFailures(history);
  const rows = plan.processors.map((processor) => {
    const states = cellStates(processor, snapshot.failures.get(processor.name));
    const cells = new Array<string>(days).fill(CELL_SYMBOL.none);
    for (const [day, state] of states) if (day >= start && day <= end) cells[day - start] = CELL_SYMBOL[state];
    return { name: processor.name, table: processor.table, cells: cells.join(''), counts: processor.counts, notes: {} as Record<number, string> };
  });
  // Tooltips within the budget: blocked and failed partitions first (the ones a person hovers to ask
  // why), then missing and stale ones, processor by processor.
  let budget = NOTE_BUDGET;
  let notesCapped = false;
  for (const urgent of [true, false]) {
    plan.processors.forEach((processor, i) => {
      const failed = snapshot.failures.get(processor.name);
      const recorded = failuresByProcessor.get(processor.name);
      const notes = rows[i]!.notes;
      for (const partition of processor.partitions) {
        // Only a failure that still stands (the snapshot's: not built since) names the cell's last failure.
        const standing = failed?.get(partition.day);
        if ((partition.action === 'blocked' || standing !== undefined) !== urgent) continue;
        if (budget <= 0) {
          notesCapped = true;
          return;
        }
        const note = partitionNote(partition, calendar, standing !== undefined ? recorded?.get(partition.day) : undefined, standing);
        notes[partition.day - start] = note;
        budget -= note.length + 8;
      }
    });
  }
  return {
    pipeline: plan.pipeline,
    target: plan.target,
    start: formatDay(start),
    end: formatDay(end),
    startDay: start,
    days,
    unit: columnUnit(days),
    rows,
    notesCapped,
  };
}
