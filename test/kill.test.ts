/**
 * kill -9 of a real `dag run` at random moments (fixed seeds), each followed by a plan and a rerun:
 * no partition is ever half-written, the ledger and the data agree, the plan after the kill asks
 * for exactly what is missing, and the rerun builds exactly that (taking over the dead run's lock).
 */
import { spawn } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dagBin, runDag, tempProject } from './support/cli.js';
import { countsByDay, isoDay, ledgerByDay, makeProject, parseRunJson, pipelineYaml, sourceRows, tableExists } from './fixtures/run/project.js';

const DAYS = 10;
const KILLS = 20;
const RANGE = `${isoDay(0)}..${isoDay(DAYS - 1)}`;
const PROCESSORS = [
  { name: 'A', table: 'a' },
  { name: 'B', table: 'b' },
  { name: 'C', table: 'c' },
] as const;

const yaml = pipelineYaml(`  A:
    table: p.a
    upstream: [src]
    sql: sql/a.sql
    batch_size: 2
  B:
    table: p.b
    upstream: { A: { lookback: 1, min: 1 } }
    sql: sql/b.sql
    batch_size: 2
  C:
    table: p.c
    upstream: [B]
    sql: sql/c.sql
    batch_size: 1
`);
// Each copies its upstream's rows of the same day, so every complete partition of day i has sourceRows(i) rows.
const copy = (from: string) => `select d, id, payload from {{ ref('${from}') }} where d between {{ start_date }} and {{ end_date }}\n`;

/** mulberry32: a small seeded PRNG, so every kill moment is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function killAfter(dir: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [dagBin, 'run', '--range', RANGE], { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Per processor: days in the ledger; asserts data and ledger agree and no partition is partial. */
async function checkConsistent(db: string, context: string): Promise<Map<string, string[]>> {
  const built = new Map<string, string[]>();
  for (const { name, table } of PROCESSORS) {
    const ledger = await ledgerByDay(db, name);
    const data = (await tableExists(db, 'p', table)) ? await countsByDay(db, `p.${table}`) : new Map<string, number>();
    expect(data, `${context}: ${name} data vs ledger`).toEqual(ledger);
    for (const [day, rows] of data) {
      const index = Math.round((Date.parse(day) - Date.parse(isoDay(0))) / 86_400_000);
      expect(rows, `${context}: ${name} ${day} is complete`).toBe(sourceRows(index));
    }
    built.set(name, [...ledger.keys()]);
  }
  return built;
}

describe('kill -9 of dag run', () => {
  it(`leaves old or new partitions, never half, and a rerun builds exactly the rest (${KILLS} kills)`, async () => {
    const pristine = await makeProject(yaml, { 'sql/a.sql': copy('src'), 'sql/b.sql': copy('A'), 'sql/c.sql': copy('B') }, DAYS);
    const allDays = Array.from({ length: DAYS }, (_, i) => isoDay(i));
    // Calibrate: how long an uninterrupted run takes here, so the kill moments spread over a whole run
    // (process start, lock, snapshot, batches, ledger writes, end) on a fast or a loaded machine.
    const calibration = tempProject({}, 'dag-kill-');
    cpSync(pristine.dir, calibration, { recursive: true });
    const started = Date.now();
    expect((await runDag(['run', '--range', RANGE], { cwd: calibration })).code).toBe(0);
    const fullRunMs = Date.now() - started;
    let partial = 0;
    const killAndCheck = async (seed: number, delayMs: number): Promise<void> => {
      const context = `seed ${seed} (kill after ${delayMs} ms)`;
      const dir = tempProject({}, 'dag-kill-');
      cpSync(pristine.dir, dir, { recursive: true });
      const db = join(dir, '.dag', 'run.duckdb');

      await killAfter(dir, delayMs);
      const before = await checkConsistent(db, context);

      const planned = JSON.parse((await runDag(['plan', '--range', RANGE, '--json'], { cwd: dir })).stdout) as {
        processors: { name: string; partitions: { date: string; action: string }[] }[];
      };
      const rerun = await runDag(['run', '--range', RANGE, '--json'], { cwd: dir, timeoutMs: 60_000 });
      expect(rerun.code, `${context}: ${rerun.stderr}`).toBe(0);
      const json = parseRunJson(rerun);
      for (const { name } of PROCESSORS) {
        const missing = allDays.filter((day) => !(before.get(name) ?? []).includes(day));
        const toBuild = planned.processors
          .find((p) => p.name === name)
          ?.partitions.filter((p) => p.action === 'build')
          .map((p) => p.date);
        expect(toBuild, `${context}: plan for ${name} after the kill`).toEqual(missing);
        expect(json.processors.find((p) => p.name === name)?.built, `${context}: rerun of ${name}`).toEqual(missing);
      }
      const after = await checkConsistent(db, `${context}, after the rerun`);
      for (const { name } of PROCESSORS) expect(after.get(name), context).toEqual(allDays);
      if ([...before.values()].some((days) => days.length > 0 && days.length < DAYS)) partial += 1;
    };
    for (let seed = 1; seed <= KILLS; seed++) {
      const random = prng(seed);
      await killAndCheck(seed, Math.round(50 + random() * 1.1 * fullRunMs));
    }
    // On a fast machine most of a run is starting and ending, and the batches a short stretch between:
    // kills that all missed it are followed by more, aimed at the run's middle (each checked the same way).
    for (let seed = KILLS + 1; partial < 2 && seed <= 2 * KILLS; seed++) {
      const random = prng(seed);
      await killAndCheck(seed, Math.round((0.3 + random() * 0.6) * fullRunMs));
    }
    // The kills must land mid-run often enough to mean something.
    expect(partial, `full run took ${fullRunMs} ms`).toBeGreaterThanOrEqual(2);
    // 20 runs and reruns of real processes: minutes on a loaded two-core machine.
  }, 360_000);
});
