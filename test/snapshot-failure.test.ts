/**
 * A source that is a view over a Parquet file that was moved: its inventory query fails while the
 * snapshot's other queries still run on the pool. dag must wait for (or interrupt) those before it
 * closes the connections — closing under a running query hung or crashed the process — and say which
 * table failed, with DuckDB's message. `plan` exits 2 (ten tries); `run` fails only that table's
 * readers (and a view calling error() fails only its own), builds the independent processor, exits 1
 * (DESIGN §5; three tries). Each in a child process with a timeout.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { looksLikeStackTrace, runDag, tempProject } from './support/cli.js';
import { execSql, queryRows } from './support/duckdb.js';

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
  broken: { table: raw.broken }
processors:
  P:
    table: out.p
    upstream: [files, big, more]
    sql: p.sql
  B:
    table: out.b
    upstream: [broken]
    sql: b.sql
  Q:
    table: out.q
    upstream: [big]
    sql: q.sql
  R:
    table: out.r
    upstream: [P, Q]
    sql: r.sql
`,
    'b.sql': "select d, x from {{ ref('broken') }} where d between {{ start_date }} and {{ end_date }}\n",
    'q.sql': "select d, count(*) as n from {{ ref('big') }} where d between {{ start_date }} and {{ end_date }} group by 1\n",
    'r.sql': "select d, n from {{ ref('Q') }} join {{ ref('P') }} using (d, n) where d between {{ start_date }} and {{ end_date }}\n",
    'p.sql':
      "select d, count(*) as n from {{ ref('files') }} join {{ ref('big') }} using (d) join {{ ref('more') }} using (d) where d between {{ start_date }} and {{ end_date }} group by 1\n",
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
    // The inventory query groups by d, so the error() is hit there, not only when hashing.
    `CREATE VIEW raw.broken AS SELECT CASE WHEN x = 5 THEN error('boom: bad row 5')::DATE ELSE d END AS d, x FROM (${days(100)})`,
  );
  renameSync(parquet, join(dir, 'moved-away.parquet'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectNamedFailure(result: { code: number | null; stderr: string; stdout: string }, elapsedMs: number, code = 2): void {
  expect(result.code, `exit ${result.code} after ${elapsedMs} ms: ${result.stderr}`).toBe(code);
  expect(result.stderr).toContain('cannot read table raw.files (source files)');
  expect(result.stderr).toContain('No files found');
  expect(result.stderr).not.toContain('bug in dag');
  expect(looksLikeStackTrace(result.stderr + result.stdout)).toBe(false);
}

describe('a source view over a moved Parquet file', () => {
  it(
    'dag plan exits 2 naming the table, ten times out of ten, never hanging',
    async () => {
      for (let i = 0; i < 10; i++) {
        const started = Date.now();
        const result = await runDag(['plan', '--range', RANGE, '--select', 'P'], { cwd: dir, timeoutMs: TIMEOUT_MS });
        expectNamedFailure(result, Date.now() - started);
      }
    },
    10 * TIMEOUT_MS,
  );

  it(
    'dag run fails only the readers of each unreadable table, builds the rest, exits 1 and releases its lock',
    async () => {
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        const result = await runDag(['run', '--range', RANGE, '--json'], { cwd: dir, timeoutMs: TIMEOUT_MS });
        expectNamedFailure(result, Date.now() - started, 1);
        expect(result.stderr).not.toContain('locked');
        expect(existsSync(`${db}.lock`)).toBe(false);
        const run = JSON.parse(result.stdout) as {
          processors: { name: string; built: string[]; failed: { category: string; message: string }[]; upstream_failed: string[] }[];
          totals: { jobs: number };
        };
        const of = (name: string) => run.processors.find((p) => p.name === name);
        // Q reads only a readable table: built, every run (the first builds it, later runs find it fresh).
        if (i === 0) expect(of('Q')?.built).toHaveLength(10);
        expect(of('Q')?.failed).toEqual([]);
        for (const [name, table, says] of [
          ['P', 'raw.files (source files)', 'No files found'],
          ['B', 'raw.broken (source broken)', 'boom: bad row 5'],
        ] as const) {
          expect(of(name)?.built).toEqual([]);
          expect(of(name)?.failed).toHaveLength(10);
          expect(of(name)?.failed[0]?.category).toBe('PROCESSOR_ERROR');
          expect(of(name)?.failed[0]?.message).toContain(`cannot read table ${table}`);
          expect(of(name)?.failed[0]?.message).toContain(says);
        }
        expect(of('R')?.upstream_failed).toHaveLength(10);
        // No warehouse job was spent on the readers that could not run.
        expect(run.totals.jobs).toBe(i === 0 ? 1 : 0);
      }
      const failures = await queryRows(
        db,
        `select processor, count(*)::INTEGER as n from _dag.failures where category = 'PROCESSOR_ERROR' group by 1 order by 1`,
      );
      expect(failures).toEqual([
        { processor: 'B', n: 30 },
        { processor: 'P', n: 30 },
      ]);
      // Nothing was recorded as a version of the tables that could not be read.
      expect(await queryRows(db, `select count(*)::INTEGER as n from _dag.source_versions where source in ('files', 'broken')`)).toEqual([{ n: 0 }]);
    },
    3 * TIMEOUT_MS,
  );
});
