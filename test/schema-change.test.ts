/**
 * Schema changes (DESIGN §8) through the real CLI on a real DuckDB file: the shared scenarios
 * (support/schema-scenarios.ts, also run on BigQuery), and a run killed mid-batch after its ALTER TABLE.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dagBin, runDag, tempProject } from './support/cli.js';
import { createTable, queryRows } from './support/duckdb.js';
import { schemaChangeScenarios, type SchemaProject, type SchemaTarget } from './support/schema-scenarios.js';

const HEAD = `version: 1
name: schema
targets:
  dev: { type: duckdb, path: .dag/schema.duckdb }
default_target: dev
defaults: { partition_column: d, batch_size: 31, retries: 0 }
sources:
  src: { table: raw.src }
`;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const dayOf = (i: number) => `2021-11-${String(i + 1).padStart(2, '0')}`;

async function duckdbProject(processors: string, files: Readonly<Record<string, string>>, days: number): Promise<SchemaProject & { db: string }> {
  const dir = tempProject({ 'pipeline.yaml': HEAD + processors, ...files }, 'dag-schema-');
  dirs.push(dir);
  const db = join(dir, '.dag', 'schema.duckdb');
  await createTable(db, 'raw.src', 'd', Object.fromEntries(Array.from({ length: days }, (_, i) => [dayOf(i), (i % 3) + 1])));
  return {
    dir,
    db,
    dag: (args) => runDag(args, { cwd: dir, timeoutMs: 90_000 }),
    columns: async (table) => {
      const [schema, name] = table.split('.');
      const rows = await queryRows(
        db,
        `SELECT column_name AS c, data_type AS t FROM duckdb_columns() WHERE schema_name = '${schema}' AND table_name = '${name}' ORDER BY column_index`,
      );
      return rows.map((r) => [String(r.c), String(r.t)]);
    },
    values: async (table, columns) => {
      const rows = await queryRows(
        db,
        `SELECT strftime(d, '%Y-%m-%d') AS day, [${columns.map((c) => `CAST("${c}" AS VARCHAR)`).join(', ')}] AS v FROM ${table} ORDER BY d`,
      );
      return new Map(rows.map((r) => [String(r.day), r.v as (string | null)[]]));
    },
    ledgerDays: async (processor) => {
      const rows = await queryRows(
        db,
        `SELECT DISTINCT strftime(partition_date, '%Y-%m-%d') AS day FROM _dag.partitions WHERE processor = '${processor}' ORDER BY 1`,
      );
      return rows.map((r) => String(r.day));
    },
    setProcessors: (text) => writeFileSync(join(dir, 'pipeline.yaml'), HEAD + text),
  };
}

const duckdb: SchemaTarget = {
  name: 'DuckDB',
  types: { int: 'INTEGER', float: 'DOUBLE', text: 'VARCHAR' },
  dateToTimestamp: true,
  project: duckdbProject,
  cleanup: async () => undefined,
};

schemaChangeScenarios(duckdb);

describe('schema changes on DuckDB: crash safety', () => {
  it('a run killed after its batch altered the table (inside the transaction) leaves the old table', async () => {
    const project = await duckdbProject(
      'processors:\n  P: { table: p.p, upstream: [src], sql: sql/p.sql }\n',
      {
        'sql/p.sql': "SELECT d, CAST(COUNT(*) AS INTEGER) AS n FROM {{ ref('src') }} WHERE d BETWEEN {{ start_date }} AND {{ end_date }} GROUP BY d\n",
      },
      3,
    );
    expect((await project.dag(['run', '--range', '2021-11-01..2021-11-02'])).code).toBe(0);
    // Adds a column and widens n, then spends seconds computing the rows: the kill lands in between.
    writeFileSync(
      join(project.dir, 'sql', 'p.sql'),
      "SELECT d, CAST(COUNT(*) AS DOUBLE) AS n, 'x' AS tag FROM {{ ref('src') }}, range(200000) AS a(i), range(200000) AS b(j) WHERE d BETWEEN {{ start_date }} AND {{ end_date }} AND hash(i + j) % 7 = 0 GROUP BY d\n",
    );
    const child = spawn(process.execPath, [dagBin, 'run', '--range', '2021-11-01..2021-11-03'], {
      cwd: project.dir,
      stdio: 'ignore',
      env: { ...process.env, NO_COLOR: '1' },
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    child.kill('SIGKILL');
    await exited;
    expect(await project.columns('p.p')).toEqual([
      ['d', 'DATE'],
      ['n', 'INTEGER'],
    ]);
    expect(await project.values('p.p', ['n'])).toEqual(
      new Map([
        ['2021-11-01', ['1']],
        ['2021-11-02', ['2']],
      ]),
    );
    expect(await project.ledgerDays('P')).toEqual(['2021-11-01', '2021-11-02']);
  }, 60_000);
});
