/**
 * Adapters return typed errors and only src/cli maps them to exit codes (issue 11): the same mistake —
 * a source table that is not partitioned on the DATE column pipeline.yaml names — exits the same way
 * on the embedded DuckDB file and on BigQuery (through the loopback server), for plan and for run,
 * with one line naming the table and no stack trace.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBqServer, type BqServer } from './bq-server/server.js';
import { looksLikeStackTrace, runDag, tempProject } from './support/cli.js';
import { execSql } from './support/duckdb.js';

const P = 'test-project';
const env = { METADATA_SERVER_DETECTION: 'none', GOOGLE_APPLICATION_CREDENTIALS: undefined };

let server: BqServer;
let dir = '';

beforeAll(async () => {
  server = await startBqServer();
  dir = tempProject({
    'pipeline.yaml': `version: 1
name: badtable
targets:
  dev: { type: duckdb, path: warehouse.duckdb }
  bq: { type: bigquery, project: ${P}, location: US, api_endpoint: "${server.url}" }
default_target: dev
defaults: { partition_column: game_date, retries: 0 }
sources:
  games: { table: raw.games }
processors:
  P:
    table: out.p
    upstream: [games]
    sql: p.sql
`,
    'p.sql': "SELECT game_date, count(*) AS n FROM {{ ref('games') }} WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }} GROUP BY 1\n",
  });
  // DuckDB: the partition column holds text; BigQuery: the table is partitioned on another column.
  await execSql(join(dir, 'warehouse.duckdb'), 'CREATE SCHEMA raw', `CREATE TABLE raw.games AS SELECT '2021-11-01' AS game_date, 1 AS id`);
  await server.exec(
    `CREATE SCHEMA IF NOT EXISTS \`${P}.raw\`; CREATE TABLE \`${P}.raw.games\` (game_date DATE, day2 DATE, id INT64) PARTITION BY day2; INSERT INTO \`${P}.raw.games\` VALUES (DATE '2021-11-01', DATE '2021-11-01', 1)`,
  );
});
afterAll(async () => {
  await server.close();
});

describe('a source not partitioned on its DATE column', () => {
  for (const verb of ['plan', 'run'] as const)
    it(`dag ${verb} exits 2 on DuckDB and on BigQuery alike, naming the table`, async () => {
      const results = [];
      for (const target of ['dev', 'bq']) {
        const result = await runDag([verb, '--range', '2021-11-01..2021-11-03', '--target', target], { cwd: dir, env });
        expect(result.stderr).toMatch(/raw\.games/);
        expect(result.stderr).toMatch(/hint: /);
        expect(result.stderr).not.toContain('bug in dag');
        expect(looksLikeStackTrace(result.stderr + result.stdout)).toBe(false);
        results.push(result.code);
      }
      expect(results).toEqual([2, 2]);
    });
});
