/**
 * The fast planner against the reference planner on random pipelines and warehouse states:
 * identical expected days, partitions (status, action, category, needs, reasons) and batches.
 */
import { describe, expect, it } from 'vitest';
import { makeCalendar } from '../src/core/calendar.js';
import { plan } from '../src/core/planner.js';
import { referencePlan } from './reference-planner.js';
import { mulberry32, randomCase } from './support/pipeline-builder.js';

const CASES = 600;
const FIRST_SEED = Number(process.env.DAG_PROPERTY_SEED ?? 20211101);

describe('planner equals the reference planner', () => {
  it(`on ${CASES} random pipelines and warehouse states`, () => {
    let nonFresh = 0;
    let blocked = 0;
    let stale = 0;
    for (let i = 0; i < CASES; i++) {
      const seed = FIRST_SEED + i;
      const c = randomCase(mulberry32(seed));
      const fast = plan({ pipeline: c.pipeline, targetName: 'dev', range: c.range, selection: c.selection, snapshot: c.snapshot });
      const slow = referencePlan(c);
      const where = `seed ${seed} (replay: DAG_PROPERTY_SEED=${seed})`;
      expect(fast.processors.map((p) => p.name), where).toEqual(slow.map((p) => p.name));
      fast.processors.forEach((p, k) => {
        const ref = slow[k]!;
        expect([...p.expected], `${where} ${p.name} expected`).toEqual(ref.expected);
        expect(p.partitions, `${where} ${p.name} partitions`).toEqual(ref.partitions);
        // Batches: contiguous build days on the calendar, in chunks of batch size (1 when reading itself).
        const processor = c.pipeline.processors.find((x) => x.name === p.name)!;
        const size = processor.upstream.some((u) => u.name === p.name) ? 1 : processor.batchSize;
        const calendar = makeCalendar(c.snapshot.calendar);
        const buildDays = ref.partitions.filter((x) => x.action === 'build').map((x) => x.day);
        expect(p.batches.flatMap((b) => b.days), where).toEqual(buildDays);
        for (const b of p.batches) {
          expect(b.days.length, where).toBeLessThanOrEqual(size);
          expect(b.start, where).toBe(b.days[0]);
          expect(b.end, where).toBe(b.days[b.days.length - 1]);
          for (let j = 1; j < b.days.length; j++) expect(calendar.position(b.days[j]!) - calendar.position(b.days[j - 1]!), where).toBe(1);
        }
        for (let j = 1; j < p.batches.length; j++) {
          const prev = p.batches[j - 1]!;
          const next = p.batches[j]!;
          const touching = calendar.position(next.start) - calendar.position(prev.end) === 1;
          if (touching) expect(prev.days.length, `${where} batch cut early`).toBe(size);
        }
        nonFresh += p.partitions.length;
        blocked += p.counts.blocked;
        stale += p.counts.stale;
        expect(p.counts.fresh + p.counts.missing + p.counts.stale, where).toBe(p.counts.expected);
        expect(p.counts.build + p.counts.blocked, where).toBe(p.counts.missing + p.counts.stale);
      });
    }
    // The generator must exercise every outcome, or the comparison proves little.
    expect(nonFresh).toBeGreaterThan(1000);
    expect(blocked).toBeGreaterThan(200);
    expect(stale).toBeGreaterThan(200);
  });
});
