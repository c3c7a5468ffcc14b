import { describe, expect, it } from 'vitest';
import { plan } from '../src/core/planner.js';
import type { DayRange } from '../src/core/dates.js';
import type { Pipeline } from '../src/core/model.js';
import type { PartitionPlan, ProcessorPlan } from '../src/core/plan.js';
import type { Snapshot } from '../src/core/snapshot.js';
import { SnapshotBuilder, buildPipeline, day, days, iso, lookback, lookbackDays, offset, same } from './support/pipeline-builder.js';

function rangeOf(spec: string): DayRange {
  const list = days(spec);
  return { start: list[0]!, end: list[list.length - 1]! };
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

describe('planner: statuses and actions', () => {
  const pipeline = buildPipeline({ sources: ['src'], processors: { A: { upstream: ['src'] }, B: { upstream: { A: same() } } } });

  it('builds what is missing when its inputs are present, in one batch', () => {
    const s = new SnapshotBuilder(pipeline).present('src', days('2021-11-01..2021-11-05'), { changedAt: 1 }).snapshot();
    const p = planOf(pipeline, s, '2021-11-01..2021-11-05');
    const a = proc(p, 'A');
    expect(a.counts).toEqual({ expected: 5, fresh: 0, missing: 5, stale: 0, build: 5, blocked: 0 });
    expect(a.batches.map((b) => [iso(b.start), iso(b.end), b.days.length])).toEqual([['2021-11-01', '2021-11-05', 5]]);
    expect(proc(p, 'B').counts.build).toBe(5);
    expect(p.summary).toMatchObject({ expected: 10, build: 10, batches: 2 });
  });

  it('blocks on a source gap inside the range (MISSING_DEPENDENCIES) and downstream of it', () => {
    const s = new SnapshotBuilder(pipeline).present('src', days('2021-11-01..2021-11-02', '2021-11-04..2021-11-05'), { changedAt: 1 }).snapshot();
    const p = planOf(pipeline, s, '2021-11-01..2021-11-05');
    expect(at(proc(p, 'A'), '2021-11-03')).toEqual({
      day: day('2021-11-03'),
      status: 'missing',
      action: 'blocked',
      category: 'MISSING_DEPENDENCIES',
      needs: [{ upstream: 'src', days: [day('2021-11-03')] }],
    });
    expect(at(proc(p, 'B'), '2021-11-03')).toMatchObject({
      action: 'blocked',
      category: 'MISSING_DEPENDENCIES',
      needs: [{ upstream: 'A', days: [day('2021-11-03')] }],
    });
    expect(proc(p, 'A').batches.map((b) => [iso(b.start), iso(b.end)])).toEqual([
      ['2021-11-01', '2021-11-02'],
      ['2021-11-04', '2021-11-05'],
    ]);
  });

  it('fresh when built after its inputs; stale upstream_changed when an input is newer; rebuilt propagates', () => {
    const s = new SnapshotBuilder(pipeline)
      .present('src', days('2021-11-01..2021-11-03'), { changedAt: 1 })
      .present('src', days('2021-11-02'), { changedAt: 50 })
      .built('A', days('2021-11-01..2021-11-03'), { builtAt: 10 })
      .built('B', days('2021-11-01..2021-11-03'), { builtAt: 20 })
      .snapshot();
    const p = planOf(pipeline, s, '2021-11-01..2021-11-03');
    expect(proc(p, 'A').partitions).toEqual([
      { day: day('2021-11-02'), status: 'stale', action: 'build', reasons: [{ kind: 'upstream_changed', upstream: 'src', days: [day('2021-11-02')] }] },
    ]);
    expect(proc(p, 'B').partitions).toEqual([
      { day: day('2021-11-02'), status: 'stale', action: 'build', reasons: [{ kind: 'upstream_rebuilt', upstream: 'A', days: [day('2021-11-02')] }] },
    ]);
  });
});

describe('planner: history', () => {
  it('INSUFFICIENT_HISTORY before the calendar start; OUT_OF_RANGE for absent partitions before the range', () => {
    const pipeline = buildPipeline({ calendar: 'cal', sources: ['cal', 'src'], processors: { A: { upstream: { src: lookback(2) } } } });
    const cal = days('2021-11-01..2021-11-10');
    const s = new SnapshotBuilder(pipeline).calendar(cal).present('cal', cal).present('src', days('2021-11-02..2021-11-10'), { changedAt: 1 }).snapshot();
    const p = planOf(pipeline, s, '2021-11-01..2021-11-05');
    const a = proc(p, 'A');
    expect(at(a, '2021-11-01')).toMatchObject({ category: 'MISSING_DEPENDENCIES', needs: [{ upstream: 'src', days: [day('2021-11-01')] }] });
    const s2 = new SnapshotBuilder(pipeline).calendar(cal).present('cal', cal).present('src', cal, { changedAt: 1 }).snapshot();
    const a2 = proc(planOf(pipeline, s2, '2021-11-01..2021-11-05'), 'A');
    expect(at(a2, '2021-11-01')).toMatchObject({ category: 'INSUFFICIENT_HISTORY', needs: [] });
    expect(at(a2, '2021-11-02')).toMatchObject({ category: 'INSUFFICIENT_HISTORY' });
    expect(at(a2, '2021-11-03')).toMatchObject({ action: 'build' });
    const a3 = proc(planOf(pipeline, s, '2021-11-04..2021-11-05'), 'A');
    expect(at(a3, '2021-11-04')).toMatchObject({ action: 'build' });
    const s4 = new SnapshotBuilder(pipeline).calendar(cal).present('cal', cal).present('src', days('2021-11-01', '2021-11-03..2021-11-10')).snapshot();
    expect(at(proc(planOf(pipeline, s4, '2021-11-04..2021-11-05'), 'A'), '2021-11-04')).toMatchObject({
      category: 'OUT_OF_RANGE',
      needs: [{ upstream: 'src', days: [day('2021-11-02')] }],
    });
  });

  it('min: enough present is buildable, fewer is INSUFFICIENT_HISTORY', () => {
    const pipeline = buildPipeline({ sources: ['src'], processors: { A: { upstream: { src: lookbackDays(4, { min: 3 }) }, start: '2021-11-01' } } });
    const s = new SnapshotBuilder(pipeline).present('src', days('2021-10-30..2021-11-05')).absent('src', days('2021-11-01')).snapshot();
    const a = proc(planOf(pipeline, s, '2021-10-20..2021-11-05'), 'A');
    expect(a.counts.expected).toBe(5);
    expect(a.counts.build).toBe(4); // 11-01 reads 10-28..11-01: only 10-30 and 10-31 present
    expect(at(a, '2021-11-01')).toMatchObject({
      category: 'MISSING_DEPENDENCIES',
      needs: [{ upstream: 'src', days: days('2021-10-28..2021-10-29', '2021-11-01') }],
    });
    const s2 = new SnapshotBuilder(pipeline).present('src', days('2021-11-03..2021-11-05')).snapshot();
    const a2 = proc(planOf(pipeline, s2, '2021-11-01..2021-11-05'), 'A');
    expect(at(a2, '2021-11-01')).toMatchObject({ category: 'MISSING_DEPENDENCIES' });
    expect(at(a2, '2021-11-05')).toMatchObject({ action: 'build' });
  });

  it('a processor that reads itself is built one partition per batch', () => {
    const pipeline = buildPipeline({ sources: ['src'], processors: { A: { upstream: { src: same(), A: offset(-1) }, start: '2021-11-01' } } });
    const s = new SnapshotBuilder(pipeline).present('src', days('2021-11-01..2021-11-03')).snapshot();
    const a = proc(planOf(pipeline, s, '2021-11-01..2021-11-03'), 'A');
    // Its start is where the series begins: 11-01 reads nothing of itself (10-31 can never exist).
    expect(a.counts).toMatchObject({ build: 3, blocked: 0 });
    expect(a.batches.map((b) => b.days)).toEqual([[day('2021-11-01')], [day('2021-11-02')], [day('2021-11-03')]]);
    const s2 = new SnapshotBuilder(pipeline).present('src', days('2021-11-01', '2021-11-03')).snapshot();
    const a2 = proc(planOf(pipeline, s2, '2021-11-01..2021-11-03'), 'A');
    expect(at(a2, '2021-11-02')).toMatchObject({ category: 'MISSING_DEPENDENCIES', needs: [{ upstream: 'src', days: [day('2021-11-02')] }] });
    expect(at(a2, '2021-11-03')).toMatchObject({ category: 'MISSING_DEPENDENCIES', needs: [{ upstream: 'A', days: [day('2021-11-02')] }] });
  });
});
