/**
 * The coverage grid behind `dag plan --grid`: processors × dates, one character per date, so the
 * operator's hand-made "Nov 2021 coverage" table is one glance. Every state has its own letter, so the
 * grid reads the same without colour (pipes, CI logs, NO_COLOR); colour only adds emphasis.
 * Ranges wider than the terminal fold into weeks (then months), each column showing its worst state.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import { dayToMs, formatDay, type Day } from '../core/dates.js';
import type { Plan, ProcessorPlan } from '../core/plan.js';
import type { Snapshot } from '../core/snapshot.js';

export interface GridOptions {
  readonly color: boolean;
  /** Terminal columns; 100 when unknown (output piped). */
  readonly width?: number;
}

/** Ordered from least to most worth seeing: a folded column shows the highest of its days. */
export type CellState = 'none' | 'fresh' | 'stale' | 'missing' | 'blocked' | 'failed';
const SEVERITY: readonly CellState[] = ['none', 'fresh', 'stale', 'missing', 'blocked', 'failed'];

export const CELL_SYMBOL: Readonly<Record<CellState, string>> = {
  none: ' ',
  fresh: '=',
  stale: 'S',
  missing: 'M',
  blocked: 'B',
  failed: 'X',
};

const LEGEND: readonly [CellState, string][] = [
  ['fresh', 'fresh'],
  ['missing', 'missing, to build'],
  ['stale', 'stale, to rebuild'],
  ['blocked', 'blocked'],
  ['failed', 'failed last run'],
];

type Unit = 'day' | 'week' | 'month';
const DEFAULT_WIDTH = 100;

/** The state of each expected day of one processor; days not listed expect no partition. */
export function cellStates(processor: ProcessorPlan, failures: ReadonlyMap<Day, string> | undefined): Map<Day, CellState> {
  const states = new Map<Day, CellState>();
  for (const day of processor.expected) states.set(day, 'fresh');
  for (const partition of processor.partitions) {
    const state: CellState = failures?.has(partition.day)
      ? 'failed'
      : partition.action === 'blocked'
        ? 'blocked'
        : partition.status === 'stale'
          ? 'stale'
          : partition.status === 'missing'
            ? 'missing'
            : 'fresh';
    states.set(partition.day, state);
  }
  return states;
}

function utc(day: Day): Date {
  return new Date(dayToMs(day));
}

/** Monday of the week holding `day` (day 0, 1970-01-01, was a Thursday). */
function mondayOf(day: Day): Day {
  return day - ((((day + 3) % 7) + 7) % 7);
}

function monthKey(day: Day): number {
  const date = utc(day);
  return date.getUTCFullYear() * 12 + date.getUTCMonth();
}

/** The range cut into columns of the given unit: [first, last] days, inclusive. */
function columnsOf(start: Day, end: Day, unit: Unit): [Day, Day][] {
  const columns: [Day, Day][] = [];
  for (let day = start; day <= end; day++) {
    const opens = unit === 'day' || (unit === 'week' ? mondayOf(day) === day : utc(day).getUTCDate() === 1);
    const current = columns[columns.length - 1];
    if (current && !opens) current[1] = day;
    else columns.push([day, day]);
  }
  return columns;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Writes labels into a line of `width` characters, skipping any that would touch the one before. */
function placeLabels(width: number, labels: readonly { readonly at: number; readonly text: string }[]): string {
  const line = Array.from({ length: width }, () => ' ');
  let free = 0;
  for (const { at, text } of labels) {
    if (at < free || at + text.length > width) continue;
    for (let i = 0; i < text.length; i++) line[at + i] = text[i] ?? ' ';
    free = at + text.length + 1;
  }
  return line.join('').trimEnd();
}

/** Month labels (with the year on the first one and on every January), then a finer second line. */
function axis(columns: readonly (readonly [Day, Day])[], unit: Unit): [string, string] {
  const months: { at: number; text: string; year: number }[] = [];
  let lastMonth = -1;
  columns.forEach(([, last], at) => {
    // A week belongs to the month it ends in, so "Nov" sits over the week holding Nov 1.
    if (monthKey(last) === lastMonth) return;
    lastMonth = monthKey(last);
    const date = utc(last);
    const withYear = months.length === 0 || date.getUTCMonth() === 0;
    const name = MONTHS[date.getUTCMonth()] ?? '';
    // Weeks leave 4-5 columns a month: room for the name only (the title line carries the years).
    const text = unit === 'month' ? (withYear ? `${date.getUTCFullYear()}` : '') : unit === 'week' || !withYear ? name : `${name} ${date.getUTCFullYear()}`;
    months.push({ at, text, year: date.getUTCFullYear() });
  });
  // A partial first month too short for its label: label the next month instead, with the year.
  const [first, second] = months;
  if (unit !== 'month' && first && second && second.at < first.at + first.text.length + 1) {
    months.shift();
    if (unit === 'day' && !second.text.includes(' ')) second.text = `${second.text} ${second.year}`;
  }
  const fine: { at: number; text: string }[] = [];
  columns.forEach(([day], at) => {
    const date = utc(day);
    if (unit === 'day' && (mondayOf(day) === day || (at === 0 && mondayOf(day) + 7 - day >= 3))) fine.push({ at, text: String(date.getUTCDate()) });
    if (unit === 'week' && at % 4 === 0) fine.push({ at, text: String(utc(mondayOf(day)).getUTCDate()) });
    if (unit === 'month') fine.push({ at, text: (MONTHS[date.getUTCMonth()] ?? ' ').charAt(0) });
  });
  return [
    placeLabels(
      columns.length,
      months.filter((m) => m.text !== ''),
    ),
    placeLabels(columns.length, fine),
  ];
}

function worst(states: Iterable<CellState>): CellState {
  let rank = 0;
  for (const state of states) rank = Math.max(rank, SEVERITY.indexOf(state));
  return SEVERITY[rank] ?? 'none';
}

function paint(chalk: ChalkInstance, state: CellState, text: string): string {
  switch (state) {
    case 'fresh':
      return chalk.green(text);
    case 'missing':
      return chalk.yellow(text);
    case 'stale':
      return chalk.cyan(text);
    case 'blocked':
      return chalk.magenta(text);
    case 'failed':
      return chalk.bold.red(text);
    case 'none':
      return text;
  }
}

/** The row's counts, short enough to sit beside the cells: `51/57 fresh  build 4  blocked 2`. */
function summary(states: ReadonlyMap<Day, CellState>, processor: ProcessorPlan): string {
  const failed = [...states.values()].filter((v) => v === 'failed').length;
  const parts = [`${processor.counts.fresh}/${processor.counts.expected} fresh`];
  if (processor.counts.build > 0) parts.push(`build ${processor.counts.build}`);
  if (processor.counts.blocked > 0) parts.push(`blocked ${processor.counts.blocked}`);
  if (failed > 0) parts.push(`failed ${failed}`);
  return parts.join('  ');
}

/** Finest unit first; a day per column matters more than the counts beside it (the plan table has them). */
const LAYOUTS: readonly { readonly unit: Unit; readonly counts: boolean }[] = [
  { unit: 'day', counts: true },
  { unit: 'day', counts: false },
  { unit: 'week', counts: true },
  { unit: 'week', counts: false },
  { unit: 'month', counts: true },
];

export function renderGrid(plan: Plan, snapshot: Snapshot, options: GridOptions): string {
  const chalk = new Chalk({ level: options.color ? 1 : 0 });
  const { start, end } = plan.range;
  const labelWidth = Math.max(4, ...plan.processors.map((p) => p.name.length)) + 2;
  const rows = plan.processors.map((p) => {
    const states = cellStates(p, snapshot.failures.get(p.name));
    return { processor: p, states, summary: summary(states, p) };
  });
  const summaryWidth = Math.max(0, ...rows.map((r) => r.summary.length)) + 2;
  const width = options.width ?? DEFAULT_WIDTH;
  const { unit, counts } = LAYOUTS.find((l) => labelWidth + columnsOf(start, end, l.unit).length + (l.counts ? summaryWidth : 0) <= width) ?? {
    unit: 'month' as const,
    counts: true,
  };
  const columns = columnsOf(start, end, unit);
  const pad = ' '.repeat(labelWidth);
  const [months, fine] = axis(columns, unit);
  const per = unit === 'day' ? 'one column per day' : `one column per ${unit}, showing its worst partition`;
  const lines = [chalk.bold(`Coverage ${formatDay(start)}..${formatDay(end)} (${per})`), chalk.dim(pad + months), chalk.dim(pad + fine)];
  for (const row of rows) {
    let cells = '';
    for (const [first, last] of columns) {
      const inColumn: CellState[] = [];
      for (let day = first; day <= last; day++) inColumn.push(row.states.get(day) ?? 'none');
      const state = worst(inColumn);
      cells += paint(chalk, state, CELL_SYMBOL[state]);
    }
    lines.push(`${row.processor.name.padEnd(labelWidth)}${cells}${counts ? `  ${row.summary}` : ''}`.trimEnd());
  }
  const legend = LEGEND.map(([state, text]) => `${paint(chalk, state, CELL_SYMBOL[state])} ${text}`).join('   ');
  lines.push('', `${legend}   (blank: no partition expected)`);
  return `${lines.join('\n')}\n`;
}
