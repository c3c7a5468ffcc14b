/**
 * The pure parts of "selections tell the truth" and "silence is never the answer": which partitions
 * of unselected upstream processors a selection reads, and when the calendar is behind a range.
 */
import { describe, expect, it } from 'vitest';
import { makeCalendar } from '../src/core/calendar.js';
import { calendarBehind, calendarBehindMessage } from '../src/core/calendar-coverage.js';
import { plan } from '../src/core/planner.js';
import { selectProcessors } from '../src/core/selection.js';
import { unselectedUpstream, upstreamGaps } from '../src/core/upstream-gaps.js';
import { buildPipeline, day, days, lookback, offset, same, SnapshotBuilder } from './support/pipeline-builder.js';

const range = (text: string) => {
  const [start, end] = text.split('..');
  return { start: day(start!), end: day(end ?? start!) };
};

describe('upstreamGaps', () => {
  // src -> A -> B -> C; C also reads A's previous partition; D reads B over a 3-day lookback.
  const pipeline = buildPipeline({
    sources: ['src'],
    processors: { A: { upstream: ['src'] }, B: { upstream: ['A'] }, C: { upstream: { B: same(), A: offset(-1) } }, D: { upstream: { B: lookback(3) } } },
  });
  const all = days('2021-11-01..2021-11-10');

  function gapsOf(selection: readonly string[], text: string, build: (s: SnapshotBuilder) => SnapshotBuilder) {
    const snapshot = build(new SnapshotBuilder(pipeline).present('src', all)).snapshot();
    const input = { pipeline, targetName: 'dev', range: range(text), selection, snapshot };
    const closure = plan({ ...input, selection: [...selection, ...unselectedUpstream(pipeline, selection)] });
    return upstreamGaps(pipeline, selection, closure, makeCalendar(undefined));
  }

  it('lists the unselected upstream processors of a selection, topologically', () => {
    expect(unselectedUpstream(pipeline, ['C'])).toEqual(['A', 'B']);
    expect(unselectedUpstream(pipeline, ['B', 'C'])).toEqual(['A']);
    expect(unselectedUpstream(pipeline, ['A'])).toEqual([]);
  });

  it('counts only the partitions in the range the selection reads, through unselected processors too', () => {
    // Nothing built: B is read on 11-05 only, A on 11-04 (by C, offset -1) and 11-05 (through B).
    const gaps = gapsOf(['C'], '2021-11-05', (s) => s);
    expect(gaps).toEqual([
      { name: 'A', readBy: ['C'], include: '+C', counts: { read: 1, fresh: 0, missing: 1, stale: 0, build: 1, blocked: 0 } },
      { name: 'B', readBy: ['C'], include: '+C', counts: { read: 1, fresh: 0, missing: 1, stale: 0, build: 1, blocked: 0 } },
    ]);
    // A 11-04 lies outside the range: taken as it is, not counted.
    const wider = gapsOf(['C'], '2021-11-04..2021-11-05', (s) => s);
    expect(wider.find((g) => g.name === 'A')!.counts.read).toBe(2);
  });

  it('a lookback reads more days; fresh upstream is not reported', () => {
    const fresh = (s: SnapshotBuilder) => s.built('A', all, { builtAt: 1e12 }).built('B', all, { builtAt: 2e12 });
    expect(gapsOf(['D'], '2021-11-01..2021-11-10', fresh)).toEqual([]);
    const holey = (s: SnapshotBuilder) => fresh(s).absent('B', days('2021-11-08'));
    // D 11-08..09 reads B 11-05..11-09; only 11-08 and 11-09 lie in the range (the rest are taken as
    // they are), and 11-08 is missing.
    const gaps = gapsOf(['D'], '2021-11-08..2021-11-09', holey);
    expect(gaps).toEqual([{ name: 'B', readBy: ['D'], include: '+D', counts: { read: 2, fresh: 1, missing: 1, stale: 0, build: 1, blocked: 0 } }]);
  });
});

describe('calendarBehind', () => {
  const cal = days('2021-11-01..2021-11-05', '2021-11-08..2021-11-10');
  const message = (text: string, list: readonly number[] | undefined = cal) => {
    const behind = calendarBehind('schedule', list, range(text));
    return behind && calendarBehindMessage(behind);
  };

  it('is never behind without a calendar, or when it reaches the range end', () => {
    expect(calendarBehind(undefined, undefined, range('2021-11-01..2030-01-01'))).toBeUndefined();
    expect(message('2021-11-01..2021-11-10')).toBeUndefined();
    expect(message('2021-11-09..2021-11-09')).toBeUndefined();
  });

  it('words each case', () => {
    expect(message('2021-11-09..2021-11-12')).toBe(
      "the calendar 'schedule' ends on 2021-11-10, before the range's end 2021-11-12: a late schedule load? nothing is expected in 2021-11-11..2021-11-12",
    );
    expect(message('2021-11-11..2021-11-12')).toBe(
      "the calendar 'schedule' has no partition in 2021-11-11..2021-11-12 (its last is 2021-11-10): a late schedule load? nothing is expected there",
    );
    expect(message('2021-11-06..2021-11-07')).toBe(
      "the calendar 'schedule' has no partition in 2021-11-06..2021-11-07 (none between 2021-11-05 and 2021-11-08): nothing is expected there",
    );
    expect(message('2021-10-01..2021-10-02')).toBe(
      "the calendar 'schedule' has no partition in 2021-10-01..2021-10-02 (its first is 2021-11-01): nothing is expected there",
    );
    expect(message('2021-10-01..2021-10-02', [])).toBe(
      "the calendar 'schedule' has no partition in 2021-10-01..2021-10-02 (it has no partition at all): a late schedule load? nothing is expected there",
    );
    expect(calendarBehind('schedule', cal, range('2021-11-09..2021-11-12'))!.uncovered).toEqual(range('2021-11-11..2021-11-12'));
  });
});

describe('repeated --select options', () => {
  const pipeline = buildPipeline({ sources: ['src'], processors: { A: { upstream: ['src'] }, B: { upstream: ['A'] }, C: { upstream: ['B'] } } });
  it('add up as one comma list', () => {
    expect(selectProcessors(pipeline, ['C', '+B'])).toEqual(selectProcessors(pipeline, 'C,+B'));
    expect(selectProcessors(pipeline, ['C', '+B'])).toEqual(['A', 'B', 'C']);
    expect(selectProcessors(pipeline, [])).toEqual(['A', 'B', 'C']);
  });
});
