/**
 * A running total: a processor that reads its own previous partition (DESIGN §2). Its series starts
 * where its own partitions begin, builds one partition per job in date order, and — because a SELECT
 * that reads {{ this }} cannot be typed before its table exists — its first run says how to start it.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { looksLikeStackTrace, runDag, tempProject } from './support/cli.js';
import { execSql, queryRows } from './support/duckdb.js';

const PIPELINE = `version: 1
name: totals
targets: { dev: { type: duckdb, path: w.duckdb } }
defaults: { partition_column: d }
sources:
  points: { table: raw.points }
processors:
  TOTAL:
    table: out.total
    upstream: { points: same, TOTAL: { offset: -1 } }
    sql: total.sql
    start: 2021-11-01          # where the series begins (with an every-day calendar, nothing else says so)
`;
const SQL = `SELECT p.d, p.n + coalesce((SELECT t.total FROM {{ this }} t WHERE t.d = p.d - 1), 0) AS total
FROM {{ ref('points') }} p WHERE p.d BETWEEN {{ start_date }} AND {{ end_date }}
`;

it('a running total starts its series, builds day by day, and says how to begin when its table is absent', async () => {
  const dir = tempProject({ 'pipeline.yaml': PIPELINE, 'total.sql': SQL });
  const db = join(dir, 'w.duckdb');
  await execSql(db, 'CREATE SCHEMA raw', "CREATE TABLE raw.points AS SELECT DATE '2021-11-01' + i::INTEGER AS d, (i + 1) * 10 AS n FROM range(4) t(i)");

  const first = await runDag(['run', '--range', '2021-11-01..2021-11-04'], { cwd: dir });
  expect(first.code).toBe(1);
  expect(first.stdout + first.stderr).toContain('TOTAL reads its own earlier partitions, so its table must exist before its first batch');
  expect(looksLikeStackTrace(first.stdout + first.stderr)).toBe(false);

  await execSql(db, 'CREATE SCHEMA IF NOT EXISTS out', 'CREATE TABLE out.total (d DATE, total BIGINT)');
  const plan = JSON.parse((await runDag(['plan', '--range', '2021-11-01..2021-11-04', '--json'], { cwd: dir })).stdout) as {
    processors: { counts: { build: number; blocked: number }; batches: unknown[] }[];
  };
  expect(plan.processors[0]!.counts).toMatchObject({ build: 4, blocked: 0 });
  expect(plan.processors[0]!.batches).toHaveLength(4); // one partition per job: each needs the one before

  const second = await runDag(['run', '--range', '2021-11-01..2021-11-04'], { cwd: dir });
  expect(second.code).toBe(0);
  expect(await queryRows(db, 'SELECT d::VARCHAR AS d, total FROM out.total ORDER BY d')).toEqual([
    { d: '2021-11-01', total: '10' },
    { d: '2021-11-02', total: '30' },
    { d: '2021-11-03', total: '60' },
    { d: '2021-11-04', total: '100' },
  ]);
});
