/**
 * A source that is a view over a Parquet file that was moved: its inventory query fails while the
 * snapshot's other queries still run on the pool. dag must wait for (or interrupt) those before it
 * closes the connections — closing under a running query hung or crashed the process — and say which
 * table failed, with DuckDB's message, exit 2. Ten plans and three runs, each in a child process
 * with a timeout.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { looksLikeStackTrace, runDag, tempProject } from './support/cli.js';
import { execSql } from './support/duckdb.js';

const RANGE = '2021-11-01..2021-11-10';
/** Generous for a loaded machine; a hang would hit it, a healthy refusal takes about a second. */
const TIMEOUT_MS = 20_000;

let dir = '';
let db = '';

beforeAll(async () => {
  dir = tempProject({
    'pipeline.yaml': `version: 1
name: moved
targets:
  dev: { type: duckdb, path: .dag/moved.duckdb }
default_target: dev
defaults: { partition_column: d }
sources:
  files: { table: raw.files }
  big: { table: raw.big }
  more: { table: raw.more }
processors:
  P:
    table: out.p
    upstream: [files, big, more]
    sql: p.sql
`,
    'p.sql': "select d, count(*) as n from {{ ref('files') }} join {{ ref('big') }} using (d) join {{ ref('more') }} using (d) where d between {{ start_date }} and {{ end_date }} group by 1\n",
  });
  db = join(dir, '.dag', 'moved.duckdb');
  const parquet = join(dir, 'data.parquet');
  const days = (n: number) => `SELECT DATE '2021-11-01' + (r % 10)::INTEGER AS d, r AS x FROM range(${n}) t(r)`;
  await execSql(
    db,
    `COPY (${days(1000)}) TO '${parquet}' (FORMAT parquet)`,
    'CREATE SCHEMA raw',
    `CREATE VIEW raw.files AS SELECT * FROM '${parquet}'`,
    // Tables whose inventory queries are still running when the view's query fails.
    `CREATE TABLE raw.big AS ${days(2_000_000)}`,
    `CREATE TABLE raw.more AS ${days(1_000_000)}`,
  );
  renameSync(parquet, join(dir, 'moved-away.parquet'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectNamedFailure(result: { code: number | null; stderr: string; stdout: string }, elapsedMs: number): void {
  expect(result.code, `exit ${result.code} after ${elapsedMs} ms: ${result.stderr}`).toBe(2);
  expect(result.stderr).toContain('cannot read table raw.files (source files)');
  expect(result.stderr).toContain('No files found');
  expect(result.stderr).not.toContain('bug in dag');
  expect(looksLikeStackTrace(result.stderr + result.stdout)).toBe(false);
}

describe('a source view over a moved Parquet file', () => {
  it('dag plan exits 2 naming the table, ten times out of ten, never hanging', async () => {
    for (let i = 0; i < 10; i++) {
      const started = Date.now();
      const result = await runDag(['plan', '--range', RANGE], { cwd: dir, timeoutMs: TIMEOUT_MS });
      expectNamedFailure(result, Date.now() - started);
    }
  }, 10 * TIMEOUT_MS);

  it('dag run exits 2 the same way and releases its lock, so the next run is not "locked"', async () => {
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const result = await runDag(['run', '--range', RANGE], { cwd: dir, timeoutMs: TIMEOUT_MS });
      expectNamedFailure(result, Date.now() - started);
      expect(result.stderr).not.toContain('locked');
      expect(existsSync(`${db}.lock`)).toBe(false);
    }
  }, 3 * TIMEOUT_MS);
});
