/**
 * Review of the planner against DESIGN §3/§5/§6, one scenario per rule a user would hit: category
 * precedence and `needs`, min, stale-and-blocked and rebuilt propagation, `start`, self-reading
 * processors, day-unit mappings on a game-day calendar, external/zero-row/deleted partitions, the
 * code fingerprint, the JSON shape, and `explain`'s detail lines.
 */
import { describe, expect, it } from 'vitest';
import { makeCalendar } from '../src/core/calendar.js';
import type { DayRange } from '../src/core/dates.js';
import { explainPartition, type Explanation } from '../src/core/explain.js';
import { codeFingerprint } from '../src/core/fingerprint.js';
import type { Pipeline, Processor } from '../src/core/model.js';
import type { PartitionPlan, ProcessorPlan } from '../src/core/plan.js';
import { planToJson } from '../src/core/plan-json.js';
import { plan, planWithState } from '../src/core/planner.js';
import type { Snapshot } from '../src/core/snapshot.js';
import { renderPlanText } from '../src/report/plan-text.js';
import { SnapshotBuilder, buildPipeline, day, days, lookback, lookbackDays, offset, offsetDays, same } from './support/pipeline-builder.js';

function rangeOf(spec: string): DayRange {
  const list = days(spec);
  return { start: list[0]!, end: list[list.length - 1]! };
}

function stateOf(pipeline: Pipeline, snapshot: Snapshot, range: string, selection?: string[]) {
  return planWithState({
    pipeline,
    targetName: 'dev',
    range: rangeOf(range),
    selection: selection ?? pipeline.processors.map((p) => p.name),
    snapshot,
    today: day('2030-01-01'),
  });
}

function planOf(pipeline: Pipeline, snapshot: Snapshot, range: string, selection?: string[]) {
  return plan({
    pipeline,
    targetName: 'dev',
    range: rangeOf(range),
    selection: selection ?? pipeline.processors.map((p) => p.name),
    snapshot,
    today: day('2030-01-01'),
  });
}

function proc(p: ReturnType<typeof plan>, name: string): ProcessorPlan {
  const found = p.processors.find((x) => x.name === name);
  if (!found) throw new Error(`no ${name}`);
  return found;
}

function at(p: ProcessorPlan, date: string): PartitionPlan | undefined {
  return p.partitions.find((x) => x.day === day(date));
}

function lines(e: Explanation, depth = 0): string[] {
  return [`${'  '.repeat(depth)}${e.subject} ${e.text}`, ...e.causes.flatMap((c) => lines(c, depth + 1))];
}

describe('review: blocked categories and needs', () => {
  it('MISSING_DEPENDENCIES wins over OUT_OF_RANGE and INSUFFICIENT_HISTORY; needs lists every lacking partition of every upstream', () => {
    const pipeline = buildPipeline({
      calendar: 'cal',
      sources: ['cal', 'gap', 'old', 'hist'],
      processors: { A: { upstream: { gap: same(), old: offset(-2), hist: lookback(3) } } },
    });
    const cal = days('2021-11-01..2021-11-10');
    const s = new SnapshotBuilder(pipeline)
      .calendar(cal)
      .present('cal', cal)
      .present('gap', days('2021-11-01..2021-11-02', '2021-11-04..2021-11-10'))
      .present('old', days('2021-11-02..2021-11-10'))
      .present('hist', cal)
      .snapshot();
    const a = proc(planOf(pipeline, s, '2021-11-03..2021-11-03'), 'A');
    // gap 11-03 (in range, source gap), old 11-01 (outside the range, absent), hist: 11-00 never exists.
    expect(at(a, '2021-11-03')).toEqual({
      day: day('2021-11-03'),
      status: 'missing',
      action: 'blocked',
      category: 'MISSING_DEPENDENCIES',
      needs: [
        { upstream: 'gap', days: [day('2021-11-03')] },
        { upstream: 'old', days: [day('2021-11-01')] },
      ],
    });
    // Without the gap: OUT_OF_RANGE beats INSUFFICIENT_HISTORY.
    const s2 = new SnapshotBuilder(pipeline)
      .calendar(cal)
      .present('cal', cal)
      .present('gap', cal)
      .present('old', days('2021-11-02..2021-11-10'))
      .present('hist', cal)
      .snapshot();
    expect(at(proc(planOf(pipeline, s2, '2021-11-03..2021-11-03'), 'A'), '2021-11-03')).toMatchObject({
      category: 'OUT_OF_RANGE',
      needs: [{ upstream: 'old', days: [day('2021-11-01')] }],
    });
  });

  it('min: enough usable partitions build despite absent ones; too few report the worst lacking category and list all of them', () => {
    const pipeline = buildPipeline({ sources: ['src'], processors: { A: { upstream: { src: lookback(4, { min: 3 }) } } } });
    // 11-10 reads 11-06..11-10. 11-06, 11-07 outside the range and absent; 11-09 in range and absent.
    const s = new SnapshotBuilder(pipeline).present('src', days('2021-11-08', '2021-11-10')).snapshot();
    expect(at(proc(planOf(pipeline, s, '2021-11-09..2021-11-10'), 'A'), '2021-11-10')).toMatchObject({
      category: 'MISSING_DEPENDENCIES',
      needs: [{ upstream: 'src', days: days('2021-11-06..2021-11-07', '2021-11-09') }],
    });
    const s2 = new SnapshotBuilder(pipeline).present('src', days('2021-11-08..2021-11-10')).snapshot();
    expect(at(proc(planOf(pipeline, s2, '2021-11-09..2021-11-10'), 'A'), '2021-11-10')).toEqual({ day: day('2021-11-10'), status: 'missing', action: 'build' });
    const s3 = new SnapshotBuilder(pipeline).present('src', days('2021-11-09..2021-11-10')).snapshot();
    expect(at(proc(planOf(pipeline, s3, '2021-11-09..2021-11-10'), 'A'), '2021-11-10')).toMatchObject({
      category: 'OUT_OF_RANGE',
      needs: [{ upstream: 'src', days: days('2021-11-06..2021-11-08') }],
    });
  });
});

describe('review: staleness propagation', () => {
  const pipeline = buildPipeline({
    sources: ['src', 'other'],
    processors: { A: { upstream: ['src', 'other'] }, B: { upstream: { A: lookback(2, { min: 1 }) } }, C: { upstream: ['B'] } },
  });

  it('stale-and-blocked propagates as upstream_stale through a min lookback and onward', () => {
    const s = new SnapshotBuilder(pipeline)
      .present('src', days('2021-11-01..2021-11-05'), { changedAt: 1 })
      .present('src', days('2021-11-03'), { changedAt: 50 })
      .present('other', days('2021-11-01..2021-11-05'), { changedAt: 1 })
      .absent('other', days('2021-11-03'))
      .built('A', days('2021-11-01..2021-11-05'), { builtAt: 10 })
      .built('B', days('2021-11-01..2021-11-05'), { builtAt: 20 })
      .built('C', days('2021-11-01..2021-11-05'), { builtAt: 30 })
      .snapshot();
    const p = planOf(pipeline, s, '2021-11-01..2021-11-05');
    expect(at(proc(p, 'A'), '2021-11-03')).toEqual({
      day: day('2021-11-03'),
      status: 'stale',
      action: 'blocked',
      category: 'MISSING_DEPENDENCIES',
      needs: [{ upstream: 'other', days: [day('2021-11-03')] }],
      // `other` 2021-11-03 is gone: what A was built from no longer exists (make: no rule to make it).
      reasons: [
        { kind: 'upstream_changed', upstream: 'src', days: [day('2021-11-03')] },
        { kind: 'upstream_missing', upstream: 'other', days: [day('2021-11-03')] },
      ],
    });
    const b = proc(p, 'B');
    for (const d of ['2021-11-03', '2021-11-04', '2021-11-05'])
      expect(at(b, d), d).toMatchObject({
        status: 'stale',
        action: 'blocked',
        category: 'MISSING_DEPENDENCIES',
        needs: [{ upstream: 'A', days: [day('2021-11-03')] }],
        reasons: [{ kind: 'upstream_stale', upstream: 'A', days: [day('2021-11-03')] }],
      });
    expect(at(proc(p, 'C'), '2021-11-04')).toMatchObject({
      status: 'stale',
      action: 'blocked',
      reasons: [{ kind: 'upstream_stale', upstream: 'B', days: [day('2021-11-04')] }],
    });
    expect(proc(p, 'C').counts).toMatchObject({ stale: 3, blocked: 3, fresh: 2 });
  });

  it('upstream_rebuilt reaches every partition whose offset or lookback window covers the rebuilt one, on the game-day calendar', () => {
    const pl = buildPipeline({
      calendar: 'cal',
      sources: ['cal', 'src'],
      processors: { A: { upstream: ['src'] }, B: { upstream: { A: offset(-1) } }, L: { upstream: { A: lookback(1) } } },
    });
    const cal = days('2021-11-01..2021-11-03', '2021-11-05..2021-11-08'); // no 11-04
    const s = new SnapshotBuilder(pl)
      .calendar(cal)
      .present('cal', cal)
      .present('src', cal, { changedAt: 1 })
      .present('src', days('2021-11-03'), { changedAt: 50 })
      .built('A', cal, { builtAt: 10 })
      .built('B', cal, { builtAt: 20 })
      .built('L', cal, { builtAt: 20 })
      .snapshot();
    const p = planOf(pl, s, '2021-11-02..2021-11-08');
    expect(proc(p, 'B').partitions).toEqual([
      { day: day('2021-11-05'), status: 'stale', action: 'build', reasons: [{ kind: 'upstream_rebuilt', upstream: 'A', days: [day('2021-11-03')] }] },
    ]);
    expect(proc(p, 'L').partitions.map((x) => x.day)).toEqual(days('2021-11-03', '2021-11-05'));
  });
});

describe('review: start, self-reading, day units', () => {
  it('start: nothing expected before it; a reader of those days lacks history that cannot exist', () => {
    const pl = buildPipeline({ sources: ['src'], processors: { A: { upstream: ['src'], start: '2021-11-03' }, B: { upstream: ['A'] } } });
    const s = new SnapshotBuilder(pl).present('src', days('2021-11-01..2021-11-05')).snapshot();
    const p = planOf(pl, s, '2021-11-01..2021-11-05');
    expect([...proc(p, 'A').expected]).toEqual(days('2021-11-03..2021-11-05'));
    expect(at(proc(p, 'B'), '2021-11-02')).toMatchObject({ category: 'INSUFFICIENT_HISTORY', needs: [{ upstream: 'A', days: [day('2021-11-02')] }] });
    expect(at(proc(p, 'B'), '2021-11-03')).toMatchObject({ action: 'build' });
  });

  it('a self-reading processor is built one partition per batch, in date order', () => {
    const pl = buildPipeline({
      sources: ['src'],
      processors: { A: { upstream: { src: same(), A: lookback(2, { excludeCurrent: true, min: 0 }) }, batchSize: 31 } },
    });
    const s = new SnapshotBuilder(pl).present('src', days('2021-11-01..2021-11-05')).snapshot();
    const a = proc(planOf(pl, s, '2021-11-01..2021-11-05'), 'A');
    expect(a.batches.map((b) => b.days)).toEqual(days('2021-11-01..2021-11-05').map((d) => [d]));
  });

  it('a running total (offset -1 on itself) starts at its start: the first partition reads nothing of itself, the rest build in order', () => {
    const pl = buildPipeline({ sources: ['src'], processors: { A: { upstream: { src: same(), A: offset(-1) }, start: '2021-11-01' } } });
    const s = new SnapshotBuilder(pl).present('src', days('2021-11-01..2021-11-04')).snapshot();
    const a = proc(planOf(pl, s, '2021-11-01..2021-11-04'), 'A');
    expect(a.partitions).toEqual(days('2021-11-01..2021-11-04').map((d) => ({ day: d, status: 'missing', action: 'build' })));
    expect(a.batches.map((b) => b.days)).toEqual(days('2021-11-01..2021-11-04').map((d) => [d]));
    // Planned from later on, the partition before the range is simply needed (widen the range).
    expect(at(proc(planOf(pl, s, '2021-11-03..2021-11-04'), 'A'), '2021-11-03')).toMatchObject({
      category: 'OUT_OF_RANGE',
      needs: [{ upstream: 'A', days: [day('2021-11-02')] }],
    });
  });

  it('a season-to-date lookback on itself starts at the calendar start; min counts only partitions that can exist', () => {
    const pl = buildPipeline({
      calendar: 'cal',
      sources: ['cal', 'src'],
      processors: { S: { upstream: { src: same(), S: lookback(3, { excludeCurrent: true, min: 2 }) } } },
    });
    const cal = days('2021-11-01..2021-11-06');
    const s = new SnapshotBuilder(pl).calendar(cal).present('cal', cal).present('src', cal).snapshot();
    const sp = proc(planOf(pl, s, '2021-11-01..2021-11-06'), 'S');
    expect(sp.counts).toMatchObject({ build: 6, blocked: 0 });
    // A reader of the processor (not itself) still lacks history before its start or the calendar.
    const pl2 = buildPipeline({
      sources: ['src'],
      processors: { A: { upstream: { src: same(), A: offset(-1) }, start: '2021-11-02' }, B: { upstream: { A: offset(-1) } } },
    });
    const s2 = new SnapshotBuilder(pl2).present('src', days('2021-11-01..2021-11-04')).snapshot();
    expect(at(proc(planOf(pl2, s2, '2021-11-02..2021-11-04'), 'B'), '2021-11-02')).toMatchObject({
      category: 'INSUFFICIENT_HISTORY',
      needs: [{ upstream: 'A', days: [day('2021-11-01')] }],
    });
  });

  it('day-unit offset and lookback on a game-day calendar count calendar days, not game days', () => {
    const pl = buildPipeline({
      calendar: 'cal',
      sources: ['cal', 'src'],
      processors: { O: { upstream: { src: offsetDays(-2) } }, L: { upstream: { src: lookbackDays(3, { min: 2 }) } } },
    });
    const cal = days('2021-11-01', '2021-11-03', '2021-11-04', '2021-11-08');
    const s = new SnapshotBuilder(pl).calendar(cal).present('cal', cal).present('src', cal).snapshot();
    const p = planOf(pl, s, '2021-11-03..2021-11-08');
    const o = proc(p, 'O');
    expect(at(o, '2021-11-03')).toEqual({ day: day('2021-11-03'), status: 'missing', action: 'build' }); // reads 11-01
    expect(at(o, '2021-11-04')).toMatchObject({ category: 'INSUFFICIENT_HISTORY', needs: [] }); // 11-02 is no game day
    const l = proc(p, 'L');
    expect(at(l, '2021-11-04')).toMatchObject({ action: 'build' }); // 11-01, 11-03, 11-04
    expect(at(l, '2021-11-08')).toMatchObject({ category: 'INSUFFICIENT_HISTORY', needs: [] }); // only 11-08 in 11-05..11-08
  });
});

describe('review: presence', () => {
  const pl = buildPipeline({ sources: ['src'], processors: { A: { upstream: ['src'] }, B: { upstream: ['A'] } } });

  it('external partitions: fresh with a note when times are unknown, stale when an input is newer', () => {
    const s = new SnapshotBuilder(pl)
      .present('src', days('2021-11-01..2021-11-02'), { changedAt: 100 })
      .present('A', days('2021-11-01'), { changedAt: 200 })
      .present('A', days('2021-11-02'), { changedAt: 50 })
      .built('B', days('2021-11-01..2021-11-02'), { builtAt: 300 })
      .snapshot();
    const p = planOf(pl, s, '2021-11-01..2021-11-02');
    expect(proc(p, 'A').partitions).toEqual([
      {
        day: day('2021-11-02'),
        status: 'stale',
        action: 'build',
        reasons: [{ kind: 'external_older_than_upstream', upstream: 'src', days: [day('2021-11-02')] }],
      },
    ]);
    expect(proc(p, 'A').notes?.[0]).toMatch(/^1 present partition/);
    expect(proc(p, 'B').partitions).toEqual([
      { day: day('2021-11-02'), status: 'stale', action: 'build', reasons: [{ kind: 'upstream_rebuilt', upstream: 'A', days: [day('2021-11-02')] }] },
    ]);
  });

  it('a zero-row ledger partition is present and fresh; a ledger row whose data was deleted is missing', () => {
    const s = new SnapshotBuilder(pl)
      .present('src', days('2021-11-01..2021-11-02'), { changedAt: 1 })
      .built('A', days('2021-11-01'), { builtAt: 10, rows: 0 })
      .built('A', days('2021-11-02'), { builtAt: 10, dataGone: true })
      .built('B', days('2021-11-01..2021-11-02'), { builtAt: 20 })
      .snapshot();
    const p = planOf(pl, s, '2021-11-01..2021-11-02');
    expect(proc(p, 'A').partitions).toEqual([{ day: day('2021-11-02'), status: 'missing', action: 'build' }]);
    expect(proc(p, 'B').partitions).toEqual([
      { day: day('2021-11-02'), status: 'stale', action: 'build', reasons: [{ kind: 'upstream_rebuilt', upstream: 'A', days: [day('2021-11-02')] }] },
    ]);
  });
});

describe('review: code fingerprint', () => {
  const fp = (sql: string): string =>
    codeFingerprint(buildPipeline({ sources: ['src'], processors: { A: { upstream: ['src'], sql } } }).processors[0] as Processor);

  it('ignores comments and whitespace, counts string literal content and quoted comment-like text', () => {
    const base = fp("select a, 'x  y' as s from t where b = 1");
    expect(fp("-- header\nselect  a ,\n  'x  y' as s /* why */ from t\nwhere b = 1 -- done\n")).toBe(base);
    expect(fp("select a, 'x y' as s from t where b = 1")).not.toBe(base);
    expect(fp("select a, 'x  Y' as s from t where b = 1")).not.toBe(base);
    expect(fp("select a, '-- x' as s from t")).not.toBe(fp("select a, '-- y' as s from t"));
    expect(fp("select a, '/* x */' as s from t")).not.toBe(fp("select a, '/* y */' as s from t"));
    expect(fp('select "a  b" from t')).not.toBe(fp('select "a b" from t'));
    expect(fp("select 'it''s  x' from t")).not.toBe(fp("select 'it''s x' from t"));
  });

  it('a string after one ending in a backslash (DuckDB: no escapes) or a dollar-quoted string still counts', () => {
    expect(fp("select 'C:\\', 'a  b' from t")).not.toBe(fp("select 'C:\\', 'a b' from t"));
    expect(fp("select 'it\\'s  x' from t")).not.toBe(fp("select 'it\\'s x' from t")); // BigQuery: backslash escapes
    expect(fp('select $$a  b$$ from t')).not.toBe(fp('select $$a b$$ from t'));
    expect(fp('select $q$a -- b$q$ from t')).not.toBe(fp('select $q$a -- c$q$ from t'));
    // Unambiguous SQL keeps the fingerprint it always had (no mass code_changed on upgrade).
    expect(fp("select a, 'x  y' as s from t where b = 1")).toBe('dc74b76c9e718518');
  });
});

describe('review: JSON and text', () => {
  it('JSON follows DESIGN §6: keys, every non-fresh partition, topological order', () => {
    const pl = buildPipeline({ name: 'nba', sources: ['src'], processors: { A: { upstream: ['src'] }, B: { upstream: ['A'] } } });
    const s = new SnapshotBuilder(pl).present('src', days('2021-11-01..2021-11-02')).snapshot();
    const json = planToJson(planOf(pl, s, '2021-11-01..2021-11-03'));
    expect(Object.keys(json)).toEqual(['pipeline', 'target', 'range', 'processors', 'summary', 'stats']);
    expect(json.processors.map((p) => p.name)).toEqual(['A', 'B']);
    expect(Object.keys(json.processors[0]!)).toEqual(['name', 'table', 'counts', 'partitions', 'batches']);
    expect(json.processors[0]!.partitions).toEqual([
      { date: '2021-11-01', status: 'missing', action: 'build' },
      { date: '2021-11-02', status: 'missing', action: 'build' },
      { date: '2021-11-03', status: 'missing', action: 'blocked', category: 'MISSING_DEPENDENCIES', needs: [{ upstream: 'src', dates: ['2021-11-03'] }] },
    ]);
    expect(json.processors[0]!.batches).toEqual([{ start: '2021-11-01', end: '2021-11-02' }]);
    expect(Object.keys(json.summary)).toEqual(['expected', 'fresh', 'missing', 'stale', 'build', 'blocked', 'batches']);
    expect(json.stats).toEqual({ queries: expect.any(Number), elapsed_ms: expect.any(Number) });
  });

  it('text compacts game-day runs across non-game days into one range', () => {
    const pl = buildPipeline({ calendar: 'cal', sources: ['cal', 'src'], processors: { A: { upstream: ['src'] } } });
    const cal = days('2021-11-01..2021-11-03', '2021-11-05..2021-11-06', '2021-11-09');
    const s = new SnapshotBuilder(pl).calendar(cal).present('cal', cal).snapshot();
    const text = renderPlanText(planOf(pl, s, '2021-11-01..2021-11-09'), { color: false, calendar: makeCalendar(cal) });
    expect(text).toContain('2021-11-01..09');
    expect(text).not.toContain('11-05');
  });
});

describe('review: explain detail lines', () => {
  it('a day-unit lookback whose min is not met says how many it has (TDZA early season)', () => {
    const pl = buildPipeline({ calendar: 'cal', sources: ['cal', 'box'], processors: { TDZA: { upstream: { box: lookbackDays(15, { min: 7 }) } } } });
    const cal = days('2021-10-19..2021-10-21', '2021-10-23..2021-11-20');
    const s = new SnapshotBuilder(pl).calendar(cal).present('cal', cal).present('box', cal).snapshot();
    const p = planOf(pl, s, '2021-10-19..2021-10-21');
    expect(at(proc(p, 'TDZA'), '2021-10-21')).toMatchObject({ category: 'INSUFFICIENT_HISTORY', needs: [] });
    const e = explainPartition({ pipeline: pl, planned: stateOf(pl, s, '2021-10-19..2021-10-21'), snapshot: s, processor: 'TDZA', day: day('2021-10-21') });
    expect(lines(e)).toEqual([
      'TDZA 2021-10-21 is missing and blocked: INSUFFICIENT_HISTORY',
      expect.stringMatching(/^ {2}box has 3 of the 3 box partitions it reads \(min 7\)/),
    ]);
  });

  it('a day-unit offset that lands on no calendar day says so (not "before the calendar")', () => {
    const pl = buildPipeline({ calendar: 'cal', sources: ['cal', 'src'], processors: { O: { upstream: { src: offsetDays(-2) } } } });
    const cal = days('2021-11-01', '2021-11-03', '2021-11-04', '2021-11-08');
    const s = new SnapshotBuilder(pl).calendar(cal).present('cal', cal).present('src', cal).snapshot();
    const explainO = (d: string): string[] =>
      lines(explainPartition({ pipeline: pl, planned: stateOf(pl, s, '2021-11-01..2021-11-08'), snapshot: s, processor: 'O', day: day(d) }));
    expect(explainO('2021-11-04')[1]).toBe('  src lacks 1 of the 1 src partition it reads; 2021-11-02 is not a calendar day (INSUFFICIENT_HISTORY)');
    expect(explainO('2021-11-01')[1]).toBe(
      "  src lacks 1 of the 1 src partition it reads; 1 would lie before the calendar's first partition 2021-11-01 (INSUFFICIENT_HISTORY)",
    );
  });

  it('a running total blocked on its first day by a source gap: no line about its own history', () => {
    const pl = buildPipeline({ calendar: 'cal', sources: ['cal', 'src'], processors: { S: { upstream: { src: same(), S: offset(-1) } } } });
    const cal = days('2021-11-01..2021-11-03');
    const s = new SnapshotBuilder(pl).calendar(cal).present('cal', cal).present('src', days('2021-11-02..2021-11-03')).snapshot();
    const e = explainPartition({ pipeline: pl, planned: stateOf(pl, s, '2021-11-01..2021-11-03'), snapshot: s, processor: 'S', day: day('2021-11-01') });
    expect(lines(e)).toEqual([
      'S 2021-11-01 is missing and blocked: MISSING_DEPENDENCIES',
      '  src 2021-11-01 is absent: a gap in the source (MISSING_DEPENDENCIES)',
    ]);
  });

  it('min met but a stale-and-blocked partition in the window: counts only usable partitions', () => {
    const pl = buildPipeline({ sources: ['src', 'other'], processors: { A: { upstream: ['src', 'other'] }, B: { upstream: { A: lookback(3, { min: 1 }) } } } });
    const range = '2021-11-01..2021-11-05';
    // B 11-05 reads A 11-02..11-05: 11-02 missing and blocked (no `other`), 11-03 fresh, 11-04 built now,
    // 11-05 stale (src changed) and blocked (no `other`).
    const s2 = new SnapshotBuilder(pl)
      .present('src', days('2021-11-01..2021-11-05'), { changedAt: 1 })
      .present('src', days('2021-11-05'), { changedAt: 50 })
      .present('other', days('2021-11-03..2021-11-04'), { changedAt: 1 })
      .built('A', days('2021-11-03', '2021-11-05'), { builtAt: 10 })
      .snapshot();
    const p2 = planOf(pl, s2, range);
    expect(at(proc(p2, 'A'), '2021-11-05')).toMatchObject({ status: 'stale', action: 'blocked' });
    expect(at(proc(p2, 'B'), '2021-11-05')).toMatchObject({
      status: 'missing',
      action: 'blocked',
      category: 'MISSING_DEPENDENCIES',
      needs: [{ upstream: 'A', days: [day('2021-11-05')] }],
    });
    const e = explainPartition({ pipeline: pl, planned: stateOf(pl, s2, range), snapshot: s2, processor: 'B', day: day('2021-11-05') });
    // A 11-02 is missing and blocked, 11-05 stale and blocked: 2 of the 4 are usable (11-03 fresh, 11-04 built now).
    expect(lines(e)[1]).toMatch(/^ {2}A has 2 of the 4 A partitions it reads \(min 1\)/);
  });
});
