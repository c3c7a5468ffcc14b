/**
 * The fast planner against the reference planner on random pipelines and warehouse states:
 * identical expected days, partitions (status, action, category, needs, reasons) and batches.
 */
import { describe, expect, it } from 'vitest';
import { makeCalendar } from '../src/core/calendar.js';
import { formatDay } from '../src/core/dates.js';
import { explainPartition, type Explanation } from '../src/core/explain.js';
import { planWithState } from '../src/core/planner.js';
import { referencePlan } from './reference-planner.js';
import { mulberry32, randomCase } from './support/pipeline-builder.js';

const CASES = 600;
const FIRST_SEED = Number(process.env.DAG_PROPERTY_SEED ?? 20211101);

describe('planner equals the reference planner', () => {
  it(`on ${CASES} random pipelines and warehouse states`, () => {
    let nonFresh = 0;
    let blocked = 0;
    let stale = 0;
    let explained = 0;
    const kinds = new Map<string, number>();
    for (let i = 0; i < CASES; i++) {
      const seed = FIRST_SEED + i;
      const c = randomCase(mulberry32(seed));
      const state = planWithState({
        pipeline: c.pipeline,
        targetName: 'dev',
        range: c.range,
        selection: c.selection,
        snapshot: c.snapshot,
        today: c.today,
        force: c.force,
      });
      const fast = state.plan;
      const slow = referencePlan(c);
      const where = `seed ${seed} (replay: DAG_PROPERTY_SEED=${seed})`;
      expect(
        fast.processors.map((p) => p.name),
        where,
      ).toEqual(slow.map((p) => p.name));
      fast.processors.forEach((p, k) => {
        const ref = slow[k]!;
        expect([...p.expected], `${where} ${p.name} expected`).toEqual(ref.expected);
        expect(p.partitions, `${where} ${p.name} partitions`).toEqual(ref.partitions);
        // Batches: contiguous build days on the calendar, in chunks of batch size (1 when reading itself).
        const processor = c.pipeline.processors.find((x) => x.name === p.name)!;
        const size = processor.upstream.some((u) => u.name === p.name) ? 1 : processor.batchSize;
        const calendar = makeCalendar(c.snapshot.calendar);
        const buildDays = ref.partitions.filter((x) => x.action === 'build').map((x) => x.day);
        expect(
          p.batches.flatMap((b) => b.days),
          where,
        ).toEqual(buildDays);
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
        for (const x of ref.partitions) for (const r of x.reasons ?? []) kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
        // explain reads the planner's judgement: a blocked partition's explanation names exactly the
        // partitions the reference says it lacks (up to the 8 shown per upstream), a fresh one says fresh.
        for (const x of ref.partitions) {
          if (x.action !== 'blocked' || explained > 3000) continue;
          explained++;
          const e = explainPartition({ pipeline: c.pipeline, planned: state, snapshot: c.snapshot, processor: p.name, day: x.day });
          expect(e.text, where).toBe(`is ${x.status} and blocked: ${x.category}`);
          const named = new Set<string>();
          const collect = (node: Explanation, depth: number): void => {
            if (depth > 0 && / \d{4}-\d{2}-\d{2}$/.test(node.subject)) named.add(node.subject);
            if (depth === 0 || !/ \d{4}-\d{2}-\d{2}$/.test(node.subject)) for (const child of node.causes) collect(child, depth + 1);
          };
          collect(e, 0);
          for (const need of x.needs ?? [])
            for (const d of need.days.slice(0, 8))
              expect(
                named.has(`${need.upstream} ${formatDay(d)}`),
                `${where} explain ${p.name} ${formatDay(x.day)} names ${need.upstream} ${formatDay(d)}`,
              ).toBe(true);
        }
        const freshDay = ref.expected.find((d) => !ref.partitions.some((x) => x.day === d));
        if (freshDay !== undefined)
          expect(explainPartition({ pipeline: c.pipeline, planned: state, snapshot: c.snapshot, processor: p.name, day: freshDay }).text, where).toMatch(
            /^is fresh/,
          );
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
    expect(explained).toBeGreaterThan(500);
    // Every reason kind shows up often enough to be compared.
    for (const kind of [
      'upstream_changed',
      'upstream_rebuilt',
      'upstream_stale',
      'upstream_missing',
      'code_changed',
      'rows_changed',
      'forced',
      'external_older_than_upstream',
    ]) {
      expect(kinds.get(kind) ?? 0, kind).toBeGreaterThan(20);
    }
  });
});
