/**
 * DESIGN §6: without `min` and code changes, the build set equals what GNU make would remake
 * (`make -k -n`) for the equivalent Makefile: one rule per selected partition inside the range whose
 * prerequisites are the upstream partitions it reads, files dated by ledger builtAt / changedAt.
 *
 * That includes every kind of change between plans: source partitions changed, lost or arriving late,
 * processor partitions lost inside or outside the range. make refuses a present file whose
 * prerequisite has no rule and no file ("No rule to make target"), and so does dag (upstream_missing).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeCalendar } from '../src/core/calendar.js';
import { formatDay, type Day } from '../src/core/dates.js';
import type { Pipeline, PipelineNode, Processor } from '../src/core/model.js';
import { plan } from '../src/core/planner.js';
import type { LedgerEntry, PartitionInfo, Snapshot } from '../src/core/snapshot.js';
import { mappedSlots } from './reference-planner.js';
import { mulberry32, randomCase } from './support/pipeline-builder.js';

const CASES = 500;
const FIRST_SEED = Number(process.env.DAG_MAKE_SEED ?? 7_000);
const EPOCH = 1_600_000_000;

const fileName = (node: string, d: Day | undefined): string => `${node}@${d === undefined ? 'before-calendar' : formatDay(d)}`;

const beforeStart = (node: PipelineNode, d: Day): boolean => node.kind === 'processor' && node.start !== undefined && d < node.start;

/**
 * The slots partition `d` of `processor` reads from `upstream`. Reading itself, its partitions that
 * can never exist (no calendar day, before its start) are where its series begins: no prerequisite.
 */
function slotsRead(processor: Processor, upstream: Processor['upstream'][number], d: Day, calendarDays: readonly Day[] | undefined) {
  const slots = mappedSlots(upstream.mapping, d, calendarDays);
  return upstream.name === processor.name ? slots.filter((s) => s.day !== undefined && !beforeStart(processor, s.day)) : slots;
}

/** The file names partition `d` of `processor` reads (slots with no calendar day included, as never-made files). */
function prerequisites(processor: Processor, d: Day, calendarDays: readonly Day[] | undefined): string[] {
  const names: string[] = [];
  for (const upstream of processor.upstream) {
    const slots = slotsRead(processor, upstream, d, calendarDays);
    if (slots.some((s) => s.day === undefined)) names.push(fileName(upstream.name, undefined));
    for (const s of slots) if (s.day !== undefined) names.push(fileName(upstream.name, s.day));
  }
  return names;
}

function isPresent(snapshot: Snapshot, name: string, d: Day): boolean {
  const entry = snapshot.ledger.get(name)?.get(d);
  return snapshot.tables.get(name)?.partitions.has(d) === true || (entry !== undefined && entry.rows === 0);
}

/**
 * The one documented difference (docs/partition-states.md): history that can never exist (before the
 * calendar's first partition, before an upstream's start) makes no present partition stale in dag,
 * while make refuses a target whose prerequisite has no rule and no file. Such present partitions are
 * removed; every other absence (a lost source or processor partition, inside or outside the range)
 * stays, and make and dag must agree on it.
 */
function dropReadersOfNeverExisting(pipeline: Pipeline, snapshot: Snapshot, days: readonly Day[]): void {
  for (const processor of pipeline.processors) {
    for (const d of days) {
      if (!isPresent(snapshot, processor.name, d)) continue;
      const readsNever = processor.upstream.some((upstream) => {
        const node = pipeline.nodes.get(upstream.name) as PipelineNode;
        return slotsRead(processor, upstream, d, snapshot.calendar).some((s) => s.day === undefined || beforeStart(node, s.day));
      });
      if (readsNever) {
        (snapshot.tables.get(processor.name)?.partitions as Map<Day, PartitionInfo> | undefined)?.delete(d);
        (snapshot.ledger.get(processor.name) as Map<Day, LedgerEntry> | undefined)?.delete(d);
      }
    }
  }
}

/** Present partitions that read an absent upstream partition: the deletions this test is about. */
function presentReadingAbsent(pipeline: Pipeline, snapshot: Snapshot, days: readonly Day[]): number {
  let count = 0;
  for (const processor of pipeline.processors) {
    for (const d of days) {
      if (!isPresent(snapshot, processor.name, d)) continue;
      const readsAbsent = processor.upstream.some((upstream) =>
        slotsRead(processor, upstream, d, snapshot.calendar).some((s) => s.day !== undefined && !isPresent(snapshot, upstream.name, s.day)),
      );
      if (readsAbsent) count++;
    }
  }
  return count;
}

function makeAvailable(): boolean {
  try {
    return /GNU Make/.test(execFileSync('make', ['--version'], { encoding: 'utf8' }));
  } catch {
    return false;
  }
}

describe.runIf(makeAvailable())('build set equals GNU make -k -n', () => {
  it(`on ${CASES} random pipelines without min or code changes, lost partitions included`, () => {
    let compared = 0;
    let readingAbsent = 0;
    for (let i = 0; i < CASES; i++) {
      const seed = FIRST_SEED + i;
      const c = randomCase(mulberry32(seed), { makeComparable: true });
      const calendar = makeCalendar(c.snapshot.calendar);
      const universe = calendar.daysIn({ start: c.range.start - 40, end: c.range.end + 40 });
      dropReadersOfNeverExisting(c.pipeline, c.snapshot, universe);
      readingAbsent += presentReadingAbsent(c.pipeline, c.snapshot, universe);
      const fast = plan({ pipeline: c.pipeline, targetName: 'dev', range: c.range, selection: c.selection, snapshot: c.snapshot, today: c.today });
      const dagBuilds = fast.processors.flatMap((p) => p.partitions.filter((x) => x.action === 'build').map((x) => fileName(p.name, x.day))).sort();

      const dir = mkdtempSync(join(tmpdir(), 'dag-make-'));
      try {
        const rules: string[] = [];
        const targets: string[] = [];
        for (const p of fast.processors) {
          const processor = c.pipeline.nodes.get(p.name) as Processor;
          for (const d of p.expected) {
            targets.push(fileName(p.name, d));
            rules.push(`${fileName(p.name, d)}: ${prerequisites(processor, d, c.snapshot.calendar).join(' ')}\n\techo BUILD $@\n`);
          }
        }
        writeFileSync(join(dir, 'Makefile'), `all: ${targets.join(' ')}\n.PHONY: all\n${rules.join('')}`);
        for (const node of c.pipeline.nodes.values()) {
          for (const d of universe) {
            if (!isPresent(c.snapshot, node.name, d)) continue;
            const entry = c.snapshot.ledger.get(node.name)?.get(d);
            const t = entry ? entry.builtAt : (c.snapshot.tables.get(node.name)?.partitions.get(d)?.changedAt ?? 0);
            const seconds = EPOCH + (t === Infinity ? 100_000 : t);
            const file = join(dir, fileName(node.name, d));
            writeFileSync(file, '');
            utimesSync(file, seconds, seconds);
          }
        }
        const result = spawnSync('make', ['-k', '-n', '-r', '-R', 'all'], { cwd: dir, encoding: 'utf8' });
        const makeBuilds = result.stdout
          .split('\n')
          .filter((line) => line.startsWith('echo BUILD '))
          .map((line) => line.slice('echo BUILD '.length).trim())
          .sort();
        expect(dagBuilds, `seed ${seed} (replay: DAG_MAKE_SEED=${seed}); make stderr: ${result.stderr.slice(0, 500)}`).toEqual(makeBuilds);
        if (dagBuilds.length > 0) compared++;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    expect(compared).toBeGreaterThan(CASES / 3);
    expect(readingAbsent, 'lost upstream partitions under present readers').toBeGreaterThan(CASES);
  });
});
