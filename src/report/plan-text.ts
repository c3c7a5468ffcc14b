/**
 * `dag plan` as text: one row per processor (topological order) with its counts and gaps as ranges,
 * then blocked causes grouped by category, then stale partitions with their reasons, then totals.
 * Colour only emphasises; the text says everything without it.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import type { Calendar } from '../core/calendar.js';
import { formatDay, type Day } from '../core/dates.js';
import {
  BLOCKED_CATEGORIES,
  isUpstreamReason,
  type BlockedCategory,
  type PartitionPlan,
  type Plan,
  type ProcessorPlan,
  type StaleReason,
} from '../core/plan.js';
import { compactDays } from './ranges.js';
import { unfinishedRun } from '../core/snapshot.js';
import { unselectedCountText, upstreamGapMessage, type UpstreamGap } from '../core/upstream-gaps.js';

export interface PlanTextOptions {
  readonly color: boolean;
  readonly calendar?: Calendar;
  /** Unselected upstream processors not fresh where the selection reads them: a section, and no "all fresh". */
  readonly upstreamGaps?: readonly UpstreamGap[];
  /** How many warnings the plan printed on stderr: with any, nothing to build is not "everything is fresh". */
  readonly warnings?: number;
}

const CATEGORY_TEXT: Readonly<Record<BlockedCategory, string>> = {
  MISSING_DEPENDENCIES: 'an upstream partition in the range is absent and will not be built, or is stale and cannot be rebuilt',
  OUT_OF_RANGE: 'an upstream partition outside the range is absent (widen the range to build it)',
  INSUFFICIENT_HISTORY: "history that can never exist (before the calendar or a processor's start), or a lookback's min not met",
};

const COLUMNS = ['expected', 'fresh', 'missing', 'stale', 'build', 'blocked'] as const;

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function table(plan: Plan, c: ChalkInstance, calendar: Calendar | undefined): string[] {
  const nameWidth = plan.processors.reduce((width, p) => Math.max(width, p.name.length), 9);
  const header = [pad('processor', nameWidth), ...COLUMNS.map((k) => pad(k, Math.max(k.length, 6), true)), pad('batches', 7, true), '  missing dates'];
  const lines = [c.bold(header.join('  '))];
  for (const p of plan.processors) {
    const counts = COLUMNS.map((k) => {
      const text = pad(String(p.counts[k]), Math.max(k.length, 6), true);
      if (p.counts[k] === 0 || k === 'expected' || k === 'fresh') return text;
      return k === 'blocked' ? c.red(text) : k === 'build' ? c.green(text) : c.yellow(text);
    });
    const missing = p.partitions.filter((x) => x.status === 'missing').map((x) => x.day);
    const gaps = missing.length > 0 ? `  ${compactDays(missing, { maxRanges: 8, calendar })}` : '';
    lines.push([pad(p.name, nameWidth), ...counts, pad(String(p.batches.length), 7, true)].join('  ') + gaps);
  }
  return lines;
}

/** Days gathered under a key (an upstream, a reason), each day once. */
function addDays(groups: Map<string, Set<Day>>, key: string, days: Iterable<Day>): void {
  let set = groups.get(key);
  if (!set) groups.set(key, (set = new Set()));
  for (const d of days) set.add(d);
}

/** `key days` per group, days ascending and compacted. */
function groupTexts(groups: ReadonlyMap<string, ReadonlySet<Day>>, maxRanges: number, calendar: Calendar | undefined): string[] {
  return [...groups].map(
    ([key, set]) =>
      `${key} ${compactDays(
        [...set].sort((a, b) => a - b),
        { maxRanges, calendar },
      )}`,
  );
}

function needsText(partitions: readonly PartitionPlan[], calendar: Calendar | undefined): string {
  const byUpstream = new Map<string, Set<Day>>();
  for (const p of partitions) for (const n of p.needs ?? []) addDays(byUpstream, n.upstream, n.days);
  if (byUpstream.size === 0) return 'lacks history before the calendar';
  return `lacks ${groupTexts(byUpstream, 6, calendar).join('; ')}`;
}

function blockedSection(plan: Plan, c: ChalkInstance, calendar: Calendar | undefined): string[] {
  const lines: string[] = [];
  for (const category of BLOCKED_CATEGORIES) {
    const rows: string[] = [];
    for (const p of plan.processors) {
      const blocked = p.partitions.filter((x) => x.category === category);
      if (blocked.length === 0) continue;
      const days = compactDays(
        blocked.map((x) => x.day),
        { maxRanges: 6, calendar },
      );
      rows.push(`    ${p.name} ${days} (${blocked.length}): ${needsText(blocked, calendar)}`);
    }
    if (rows.length > 0) lines.push(`  ${c.red(category)}: ${CATEGORY_TEXT[category]}`, ...rows);
  }
  return lines.length > 0 ? [c.bold('Blocked'), ...lines] : [];
}

function reasonKey(r: StaleReason): string {
  if (isUpstreamReason(r)) return `${r.kind} ${r.upstream}`;
  if (r.kind === 'forced') return 'forced (--force)';
  if (r.kind === 'rows_changed') return "rows_changed (the table's row count differs from the ledger's: rows deleted or added outside dag)";
  const run = unfinishedRun(r.was);
  return run !== undefined ? `code_changed (its command did not finish in run ${run}: rebuilt, not trusted)` : 'code_changed (SQL, command or mapping changed)';
}

function staleSection(plan: Plan, c: ChalkInstance, calendar: Calendar | undefined): string[] {
  const lines: string[] = [];
  for (const p of plan.processors) {
    const stale = p.partitions.filter((x) => x.status === 'stale');
    if (stale.length === 0) continue;
    const byReason = new Map<string, Set<Day>>();
    for (const s of stale) for (const r of s.reasons ?? []) addDays(byReason, reasonKey(r), isUpstreamReason(r) ? r.days : [s.day]);
    const reasons = groupTexts(byReason, 4, calendar);
    lines.push(
      `  ${p.name} ${compactDays(
        stale.map((x) => x.day),
        { maxRanges: 6, calendar },
      )} (${stale.length}): ${reasons.join('; ')}`,
    );
  }
  return lines.length > 0 ? [c.bold('Stale'), ...lines] : [];
}

function upstreamSection(plan: Plan, gaps: readonly UpstreamGap[], c: ChalkInstance): string[] {
  if (gaps.length === 0) return [];
  return [
    c.bold('Unselected upstream (not judged in this plan, but read by it)'),
    ...gaps.map((g) => `  note: ${c.yellow(upstreamGapMessage(g, plan.range))}`),
  ];
}

/** What the totals line says when nothing is to be built: "everything is fresh" only when it is true. */
function nothingToBuild(gaps: readonly UpstreamGap[], warnings: number, c: ChalkInstance): string {
  if (gaps.length > 0) return c.yellow(`nothing to build in the selection, but ${unselectedCountText(gaps)}`);
  if (warnings > 0) return c.yellow(`nothing to build, with ${warnings} warning${warnings === 1 ? '' : 's'} (on stderr)`);
  return c.green('everything is fresh: nothing to build');
}

function notesSection(processors: readonly ProcessorPlan[]): string[] {
  const lines = processors.flatMap((p) => (p.notes ?? []).map((n) => `  ${p.name}: ${n}`));
  return lines.length > 0 ? ['Notes', ...lines] : [];
}

/**
 * The text plan in pieces (a line or a section at a time), each ending with a newline: the CLI writes
 * them in bounded chunks, so a plan of thousands of processors never becomes one string.
 */
export function* planTextChunks(plan: Plan, options: PlanTextOptions): Generator<string> {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const { calendar } = options;
  const s = plan.summary;
  yield `${c.bold('dag plan')} ${plan.pipeline} · target ${plan.target} · ${formatDay(plan.range.start)}..${formatDay(plan.range.end)}\n\n`;
  for (const line of table(plan, c, calendar)) yield `${line}\n`;
  const gaps = options.upstreamGaps ?? [];
  const sections = [
    () => blockedSection(plan, c, calendar),
    () => staleSection(plan, c, calendar),
    () => upstreamSection(plan, gaps, c),
    () => notesSection(plan.processors),
  ];
  for (const section of sections) {
    const lines = section();
    if (lines.length === 0) continue;
    yield '\n';
    for (const line of lines) yield `${line}\n`;
  }
  const work =
    s.build + s.blocked === 0
      ? nothingToBuild(gaps, options.warnings ?? 0, c)
      : `${c.green(`${s.build} to build in ${s.batches} batch${s.batches === 1 ? '' : 'es'}`)}, ${s.blocked > 0 ? c.red(`${s.blocked} blocked`) : '0 blocked'}`;
  yield `\nTotal: ${s.expected} expected, ${s.fresh} fresh, ${s.missing} missing, ${s.stale} stale: ${work}.\n`;
  yield `${plan.stats.queries} warehouse quer${plan.stats.queries === 1 ? 'y' : 'ies'}, ${plan.stats.elapsedMs} ms.\n`;
}

/** The whole text plan as one string: for tests and small plans. */
export function renderPlanText(plan: Plan, options: PlanTextOptions): string {
  return [...planTextChunks(plan, options)].join('');
}
