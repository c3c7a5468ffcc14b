/**
 * Random pipelines and warehouse states for property tests, from a seeded PRNG (mulberry32) so a
 * failing case can be replayed from the seed the test prints.
 */
import type { Day, DayRange } from '../../src/core/dates.js';
import type { Mapping, Pipeline } from '../../src/core/model.js';
import type { Snapshot } from '../../src/core/snapshot.js';
import { SnapshotBuilder, buildPipeline, day, type ProcessorSpec } from './pipeline-builder.js';

export type Random = () => number;

export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const int = (rnd: Random, lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = <T>(rnd: Random, list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;

export interface RandomOptions {
  /** Leave out `min` and code changes (the make comparison). */
  readonly makeComparable?: boolean;
}

export interface RandomCase {
  readonly pipeline: Pipeline;
  readonly snapshot: Snapshot;
  readonly range: DayRange;
  readonly selection: readonly string[];
}

const BASE = day('2021-11-01');

function randomMapping(rnd: Random, self: boolean, options: RandomOptions): Mapping {
  const unit = rnd() < 0.6 ? 'partitions' : 'days';
  if (self) {
    if (rnd() < 0.5) return { kind: 'offset', offset: -int(rnd, 1, 3), unit };
    return { kind: 'lookback', window: int(rnd, 1, 4), unit, min: undefined, excludeCurrent: true };
  }
  const r = rnd();
  if (r < 0.35) return { kind: 'same' };
  if (r < 0.55) return { kind: 'offset', offset: -int(rnd, 0, 3), unit };
  const window = int(rnd, 0, 5);
  const min = !options.makeComparable && rnd() < 0.4 ? int(rnd, 0, window + 1) : undefined;
  return { kind: 'lookback', window, unit, min, excludeCurrent: window > 0 && rnd() < 0.25 };
}

export function randomCase(rnd: Random, options: RandomOptions = {}): RandomCase {
  const sourceCount = int(rnd, 1, 3);
  const processorCount = int(rnd, 1, 6);
  const sources = Array.from({ length: sourceCount }, (_, i) => `s${i}`);
  const names = Array.from({ length: processorCount }, (_, i) => `P${i}`);
  const processors: Record<string, ProcessorSpec> = {};
  names.forEach((name, i) => {
    const candidates = [...sources, ...names.slice(0, i)];
    const upstream: Record<string, Mapping> = {};
    const count = int(rnd, 1, Math.min(3, candidates.length));
    for (let k = 0; k < count; k++) {
      const u = pick(rnd, candidates);
      if (!(u in upstream)) upstream[u] = randomMapping(rnd, false, options);
    }
    if (rnd() < 0.15) upstream[name] = randomMapping(rnd, true, options);
    processors[name] = {
      upstream,
      ...(rnd() < 0.3 ? { start: BASE + int(rnd, -5, 10) } : {}),
      batchSize: int(rnd, 1, 5),
    };
  });
  const calendarSource = rnd() < 0.5 ? pick(rnd, sources) : undefined;
  const pipeline = buildPipeline({ sources, processors, ...(calendarSource ? { calendar: calendarSource } : {}) });

  const universe: Day[] = [];
  for (let d = BASE - 20; d <= BASE + 30; d++) universe.push(d);
  const calendar = calendarSource ? universe.filter(() => rnd() < 0.6) : undefined;
  const calendarDays = calendar ?? universe;
  const builder = new SnapshotBuilder(pipeline);
  if (calendar) builder.calendar(calendar);
  const presentRate = rnd() * 0.4 + 0.6;
  const time = (): number | undefined => {
    const r = rnd();
    if (r < 0.1 && !options.makeComparable) return undefined;
    if (r < 0.15) return Infinity;
    return int(rnd, 1, 100);
  };
  for (const s of sources) {
    for (const d of calendarDays) {
      if (s === calendarSource || rnd() < presentRate) builder.present(s, [d], { changedAt: time() });
    }
  }
  for (const p of pipeline.processors) {
    for (const d of calendarDays) {
      if (p.start !== undefined && d < p.start) continue;
      const r = rnd();
      if (r < 1 - presentRate) continue; // absent
      if (r < 0.9) {
        const old = !options.makeComparable && rnd() < 0.1;
        const zero = rnd() < 0.1;
        const gone = !zero && rnd() < 0.05;
        builder.built(p.name, [d], { builtAt: int(rnd, 1, 100), rows: zero ? 0 : 1, ...(old ? { fingerprint: 'old' } : {}), dataGone: gone });
      } else {
        const changedAt = time();
        builder.present(p.name, [d], changedAt === undefined ? {} : { changedAt });
      }
    }
  }
  const a = BASE + int(rnd, -8, 20);
  const range = { start: a, end: a + int(rnd, 0, 12) };
  const selection = rnd() < 0.6 ? names : names.filter(() => rnd() < 0.6);
  return { pipeline, snapshot: builder.snapshot(), range, selection };
}
