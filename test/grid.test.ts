/**
 * Golden tests for the coverage grid (`dag plan --grid`), from hand-built plans and snapshots.
 * Colour is off in the goldens; one test checks that colour only adds escape codes.
 * Regenerate after an intended change: UPDATE_GOLDEN=1 npx vitest run test/grid.test.ts
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIsoDate, type Day } from '../src/core/dates.js';
import type { PartitionPlan, Plan, ProcessorPlan } from '../src/core/plan.js';
import type { Snapshot } from '../src/core/snapshot.js';
import { cellStates, renderGrid } from '../src/report/grid.js';
import { projectRoot } from './support/cli.js';

const goldenDir = join(projectRoot, 'test', 'golden', 'grid');

function day(iso: string): Day {
  const d = parseIsoDate(iso);
  if (d === undefined) throw new Error(`bad date ${iso}`);
  return d;
}

function days(from: string, to: string, skip: readonly string[] = []): Day[] {
  const out: Day[] = [];
  for (let d = day(from); d <= day(to); d++) if (!skip.map(day).includes(d)) out.push(d);
  return out;
}

type Mark = 'missing' | 'stale' | 'blocked' | 'stale-blocked';

function processor(name: string, expected: readonly Day[], marks: ReadonlyMap<Day, Mark>): ProcessorPlan {
  const partitions: PartitionPlan[] = [...marks.entries()]
    .sort(([a], [b]) => a - b)
    .map(([d, mark]) => ({
      day: d,
      status: mark === 'missing' || mark === 'blocked' ? 'missing' : 'stale',
      action: mark === 'blocked' || mark === 'stale-blocked' ? 'blocked' : 'build',
      ...(mark === 'blocked' || mark === 'stale-blocked' ? { category: 'MISSING_DEPENDENCIES' as const, needs: [] } : {}),
    }));
  const count = (f: (p: PartitionPlan) => boolean): number => partitions.filter(f).length;
  return {
    name,
    table: `t.${name.toLowerCase()}`,
    expected,
    partitions,
    batches: [],
    codeFingerprint: 'x',
    counts: {
      expected: expected.length,
      fresh: expected.length - partitions.length,
      missing: count((p) => p.status === 'missing'),
      stale: count((p) => p.status === 'stale'),
      build: count((p) => p.action === 'build'),
      blocked: count((p) => p.action === 'blocked'),
    },
  };
}

function marks(entries: Record<Mark, readonly Day[]>): Map<Day, Mark> {
  const map = new Map<Day, Mark>();
  for (const [mark, list] of Object.entries(entries) as [Mark, readonly Day[]][]) for (const d of list) map.set(d, mark);
  return map;
}

function planOf(start: string, end: string, processors: readonly ProcessorPlan[]): Plan {
  const sum = (k: keyof ProcessorPlan['counts']): number => processors.reduce((s, p) => s + p.counts[k], 0);
  return {
    pipeline: 'nba',
    target: 'dev',
    range: { start: day(start), end: day(end) },
    processors,
    summary: {
      expected: sum('expected'),
      fresh: sum('fresh'),
      missing: sum('missing'),
      stale: sum('stale'),
      build: sum('build'),
      blocked: sum('blocked'),
      batches: 0,
    },
    stats: { queries: 0, elapsedMs: 0 },
  };
}

function snapshotOf(failures: Record<string, Record<string, string>> = {}): Snapshot {
  const map = new Map<string, Map<Day, string>>();
  for (const [name, byDate] of Object.entries(failures)) map.set(name, new Map(Object.entries(byDate).map(([iso, category]) => [day(iso), category])));
  return { calendar: undefined, tables: new Map(), ledger: new Map(), failures: map, stats: { queries: 0 } };
}

function expectGolden(name: string, actual: string): void {
  const file = join(goldenDir, `${name}.txt`);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(file, actual);
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

/** The seed's November 2021: early-season gaps cascade from PSZA to PCF to MLFS; no games on Thanksgiving. */
function seedNovember(): { plan: Plan; snapshot: Snapshot } {
  const gameDays = days('2021-11-01', '2021-11-30', ['2021-11-25']);
  const early = days('2021-11-01', '2021-11-06');
  const plan = planOf('2021-11-01', '2021-11-30', [
    processor('TDZA', gameDays, new Map()),
    processor(
      'PSZA',
      gameDays,
      marks({ missing: [day('2021-11-29'), day('2021-11-30')], stale: [], blocked: days('2021-11-01', '2021-11-03'), 'stale-blocked': [] }),
    ),
    processor('PDC', gameDays, marks({ missing: [], stale: days('2021-11-20', '2021-11-23'), blocked: [day('2021-11-10')], 'stale-blocked': [] })),
    processor('PCF', gameDays, marks({ missing: [], stale: days('2021-11-20', '2021-11-23'), blocked: [...early, day('2021-11-10')], 'stale-blocked': [] })),
    processor(
      'MLFS',
      gameDays,
      marks({
        missing: days('2021-11-26', '2021-11-28'),
        stale: [],
        blocked: [...early, day('2021-11-10'), day('2021-11-11')],
        'stale-blocked': [day('2021-11-24')],
      }),
    ),
  ]);
  const snapshot = snapshotOf({ MLFS: { '2021-11-26': 'TIMEOUT', '2021-11-27': 'PROCESSOR_ERROR' } });
  return { plan, snapshot };
}

const ESC = String.fromCharCode(27);
const stripAnsi = (text: string): string => text.replace(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '');

describe('coverage grid', () => {
  it('draws one column per day with a month/week axis, blank non-game days and a legend', () => {
    const { plan, snapshot } = seedNovember();
    const text = renderGrid(plan, snapshot, { color: false, width: 100 });
    expectGolden('seed-november', text);
    expect(text).not.toContain(ESC);
    const mlfs = text.split('\n').find((l) => l.startsWith('MLFS')) ?? '';
    // Nov 1..6 blocked, 7..9 fresh, 10..11 blocked; Thanksgiving (25) blank; 26..27 failed, 28 missing.
    expect(mlfs.slice(6, 6 + 30)).toBe('BBBBBB===BB============B XXM==');
  });

  it('states: failure beats blocked and missing; stale-and-blocked is blocked; unlisted days are fresh', () => {
    const { plan, snapshot } = seedNovember();
    const mlfs = plan.processors.find((p) => p.name === 'MLFS');
    if (!mlfs) throw new Error('no MLFS');
    const states = cellStates(mlfs, snapshot.failures.get('MLFS'));
    expect(states.get(day('2021-11-26'))).toBe('failed');
    expect(states.get(day('2021-11-24'))).toBe('blocked');
    expect(states.get(day('2021-11-28'))).toBe('missing');
    expect(states.get(day('2021-11-15'))).toBe('fresh');
    expect(states.has(day('2021-11-25'))).toBe(false);
  });

  it('colour adds escape codes and nothing else', () => {
    const { plan, snapshot } = seedNovember();
    const coloured = renderGrid(plan, snapshot, { color: true, width: 100 });
    expect(coloured).toContain(`${ESC}[`);
    expect(stripAnsi(coloured)).toBe(renderGrid(plan, snapshot, { color: false, width: 100 }));
  });

  it('folds a season into weeks when days do not fit, each week showing its worst state', () => {
    const all = days('2021-10-19', '2022-04-10', ['2021-11-25', '2021-12-24', '2022-02-18', '2022-02-19', '2022-02-20', '2022-02-21', '2022-02-22']);
    const plan = planOf('2021-10-19', '2022-04-10', [
      processor('PSZA', all, marks({ missing: [], stale: [], blocked: days('2021-10-19', '2021-10-27'), 'stale-blocked': [] })),
      processor(
        'MLFS',
        all,
        marks({
          missing: [...days('2022-03-01', '2022-03-03'), day('2022-01-12')],
          stale: [day('2022-01-05')],
          blocked: days('2021-10-19', '2021-10-28'),
          'stale-blocked': [],
        }),
      ),
    ]);
    const text = renderGrid(plan, snapshotOf({ MLFS: { '2022-01-12': 'NO_OUTPUT' } }), { color: false, width: 80 });
    expectGolden('season-weeks', text);
    expect(text).toContain('one column per week');
    const mlfs = text.split('\n').find((l) => l.startsWith('MLFS')) ?? '';
    // The week of 2021-10-18 and the next are blocked; the week of 2022-01-10 shows the failure.
    expect(mlfs.slice(6, 8)).toBe('BB');
    expect(mlfs).toContain('SX');
  });

  it('drops the counts column before folding days into weeks', () => {
    const { plan, snapshot } = seedNovember();
    const text = renderGrid(plan, snapshot, { color: false, width: 40 });
    expect(text).toContain('one column per day');
    expect(text).not.toContain('fresh,');
    expect(text.split('\n').find((l) => l.startsWith('PCF'))).toBe('PCF   BBBBBB===B=========SSSS= =====');
  });

  it('folds a decade into months', () => {
    const all = days('2015-01-01', '2024-12-31');
    const plan = planOf('2015-01-01', '2024-12-31', [
      processor('daily', all, marks({ missing: days('2019-06-03', '2019-06-05'), stale: [], blocked: [], 'stale-blocked': [] })),
    ]);
    const text = renderGrid(plan, snapshotOf(), { color: false, width: 160 });
    expectGolden('decade-months', text);
    expect(text).toContain('one column per month');
  });

  it('labels the first full month when the range starts at a month end', () => {
    const all = days('2021-10-30', '2021-12-05');
    const plan = planOf('2021-10-30', '2021-12-05', [processor('PCF', all, new Map())]);
    const text = renderGrid(plan, snapshotOf(), { color: false });
    expectGolden('month-end-start', text);
    expect(text).toContain('Nov 2021');
    expect(text).not.toContain('Oct');
  });
});
