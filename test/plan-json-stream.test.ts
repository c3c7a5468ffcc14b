/**
 * `dag plan --json` streamed (DESIGN §6): the pieces make exactly the pretty-printed object, long
 * upstream date lists become ranges, and what the real binary prints follows
 * schema/plan-output.schema.json — on a small project and on a plan too big to hold as one string
 * comfortably, read through a pipe that stalls (backpressure).
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { planJsonChunks } from '../src/core/plan-json-stream.js';
import { planToJson, upstreamDatesToJson } from '../src/core/plan-json.js';
import { plan } from '../src/core/planner.js';
import { dagBin, projectRoot, runDag, tempProject } from './support/cli.js';
import { createTable } from './support/duckdb.js';
import { day, days, mulberry32, randomCase } from './support/pipeline-builder.js';

const schema = JSON.parse(readFileSync(join(projectRoot, 'schema', 'plan-output.schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

function valid(json: unknown): string {
  return validate(json) ? 'valid' : JSON.stringify(validate.errors?.slice(0, 5), null, 1);
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('streamed plan JSON', () => {
  it('concatenates to JSON.stringify(planToJson(plan), null, 2) on 300 random plans, extras included', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const c = randomCase(mulberry32(seed));
      const p = plan({ pipeline: c.pipeline, targetName: 'dev', range: c.range, selection: c.selection, snapshot: c.snapshot, today: c.today, force: c.force });
      const extras = seed % 3 === 0 ? { warnings: ['w "quoted"'], unselectedUpstream: [] } : {};
      const streamed = [...planJsonChunks(p, extras)].join('');
      expect(streamed, `seed ${seed}`).toBe(`${JSON.stringify(planToJson(p, extras), null, 2)}\n`);
      expect(valid(JSON.parse(streamed)), `seed ${seed}`).toBe('valid');
    }
  });

  it('gives up to 3 upstream dates as a list and longer lists as ranges of consecutive dates', () => {
    expect(upstreamDatesToJson(days('2021-11-01..2021-11-03'))).toEqual({ dates: ['2021-11-01', '2021-11-02', '2021-11-03'] });
    expect(upstreamDatesToJson(days('2021-01-01..2021-12-31'))).toEqual({ ranges: [['2021-01-01', '2021-12-31']] });
    expect(upstreamDatesToJson([...days('2021-11-01..2021-11-02'), day('2021-11-05'), ...days('2021-11-07..2021-11-09')])).toEqual({
      ranges: [
        ['2021-11-01', '2021-11-02'],
        ['2021-11-05', '2021-11-05'],
        ['2021-11-07', '2021-11-09'],
      ],
    });
  });
});

const PIPELINE = `version: 1
name: shapes
targets:
  dev: { type: duckdb, path: w.duckdb }
default_target: dev
defaults: { partition_column: d, batch_size: 31 }
sources:
  events: { table: raw.events }
processors:
  A:
    table: p.a
    upstream: [events]
    sql: sql/a.sql
  W:
    table: p.w
    upstream: { A: { lookback: 30 }, events: same }
    sql: sql/w.sql
`;

const copy = (from: string): string =>
  `SELECT d, count(*)::INTEGER AS n FROM {{ ref('${from}') }} WHERE d BETWEEN {{ start_date }} AND {{ end_date }} GROUP BY 1\n`;

function isoDays(first: string, count: number, except: (i: number) => boolean = () => false): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < count; i++) if (!except(i)) out[new Date(Date.parse(`${first}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10)] = 1;
  return out;
}

describe('dag plan --json through the binary', () => {
  it('follows the schema with reasons and needs as ranges (a changed upstream read through a 30-day lookback)', async () => {
    const dir = tempProject(
      {
        'pipeline.yaml': PIPELINE,
        'sql/a.sql': copy('events'),
        'sql/w.sql': copy('A').replace("{{ ref('A') }}", "(SELECT d FROM {{ ref('A') }} UNION ALL SELECT d FROM {{ ref('events') }})"),
      },
      'dag-json-',
    );
    dirs.push(dir);
    const db = join(dir, 'w.duckdb');
    await createTable(
      db,
      'raw.events',
      'd',
      isoDays('2021-01-01', 90, (i) => i >= 60 && i < 66),
    );
    await runDag(['run', '--range', '2021-01-01..2021-03-31'], { cwd: dir }); // the 6-day gap blocks some
    // A's code changes: all of A is rebuilt, so W's partitions are stale through 31 rebuilt A days each.
    writeFileSync(join(dir, 'sql/a.sql'), copy('events').replace('count(*)', 'count(*) + 0'));
    const result = await runDag(['plan', '--range', '2021-01-01..2021-03-31', '--json', '--select', 'W'], { cwd: dir });
    expect(result.stderr).toBe('');
    const json = JSON.parse(result.stdout) as {
      processors: { partitions: { date: string; reasons?: unknown[]; needs?: unknown[] }[] }[];
      unselected_upstream: unknown[];
    };
    expect(valid(json)).toBe('valid');
    const w = json.processors[0]!.partitions;
    expect(json.unselected_upstream).toHaveLength(1);
    // W 2021-02-15 read A 2021-01-16..02-15 (all present and built): A is not rebuilt here (unselected),
    // so a blocked W day (in the events gap) names its needs as ranges once the list is long.
    const blocked = w.find((p) => p.date === '2021-03-05');
    expect(blocked).toMatchObject({ status: 'missing', action: 'blocked', category: 'MISSING_DEPENDENCIES' });
    expect(blocked?.needs).toEqual([
      { upstream: 'A', ranges: [['2021-03-02', '2021-03-05']] },
      { upstream: 'events', dates: ['2021-03-05'] },
    ]);

    const all = await runDag(['plan', '--range', '2021-01-01..2021-03-31', '--json'], { cwd: dir });
    const whole = JSON.parse(all.stdout) as { processors: { name: string; partitions: { date: string; reasons?: unknown[] }[] }[] };
    expect(valid(whole)).toBe('valid');
    const stale = whole.processors[1]!.partitions.find((p) => p.date === '2021-02-15');
    expect(stale?.reasons).toEqual([{ kind: 'upstream_rebuilt', upstream: 'A', ranges: [['2021-01-16', '2021-02-15']] }]);
  });

  it('prints a plan of 36k non-fresh partitions completely to a reader that stalls (dag waits for drain)', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `P${i}`);
    const yaml = `version: 1\nname: big\ntargets:\n  dev: { type: duckdb, path: w.duckdb }\ndefault_target: dev\ndefaults: { partition_column: d }\nsources:\n  s: { table: raw.s }\nprocessors:\n${names.map((n) => `  ${n}:\n    table: p.${n.toLowerCase()}\n    upstream: [s]\n    sql: sql/x.sql\n`).join('')}`;
    const dir = tempProject({ 'pipeline.yaml': yaml, 'sql/x.sql': copy('s') }, 'dag-json-big-');
    dirs.push(dir);
    await createTable(
      join(dir, 'w.duckdb'),
      'raw.s',
      'd',
      isoDays('2000-01-01', 3650, (i) => i % 2 === 1),
    );
    const child = spawn(process.execPath, [dagBin, 'plan', '--range', '2000-01-01..2009-12-28', '--json'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.pause(); // stall: dag must wait for drain, not buffer everything or give up
    await new Promise((resolve) => setTimeout(resolve, 1000));
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { summary: { missing: number; blocked: number } };
    expect(json.summary).toMatchObject({ missing: 10 * 3650, blocked: 10 * 1825 });
  }, 60_000);
});
