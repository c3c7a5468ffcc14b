import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIsoDate, type Day } from '../src/core/dates.js';
import { openDuckdb } from '../src/warehouse/duckdb/index.js';
import { projectRoot, tempProject } from './support/cli.js';
import { createTable, duckdbTarget } from './support/duckdb.js';
import { pipelineOf, source, sqlProcessor } from './support/duckdb-pipeline.js';
import { sqlBatch } from './support/batches.js';

const day = (iso: string): Day => parseIsoDate(iso) ?? Number.NaN;

/** Compares with the golden file; UPDATE_GOLDEN=1 rewrites it. */
function expectGolden(name: string, actual: string): void {
  const file = join(projectRoot, 'test', 'golden', 'duckdb', name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

describe('duckdb SQL golden', () => {
  it('pins the statements of a first batch (table created) and a second one (partitions replaced)', async () => {
    const dbPath = join(tempProject(), 'nba.duckdb');
    await createTable(dbPath, 'nba.box', 'game_date', { '2021-11-01': 2 });
    const statements: string[] = [];
    const warehouse = await openDuckdb(duckdbTarget(dbPath), { env: {}, readOnly: false, onStatement: (sql) => statements.push(sql) });
    const p = sqlProcessor(
      'PDC',
      'precompute.player_daily_cache',
      "-- daily cache\nSELECT game_date, count(*) AS n\nFROM {{ ref('box') }}\nWHERE game_date BETWEEN {{ start_date }} AND {{ end_date }}\nGROUP BY 1;\n",
      {
        partitionColumn: 'game_date',
      },
    );
    const pipeline = pipelineOf(dbPath, [source('box', 'nba.box'), p]);
    const batchDays = [day('2021-11-01'), day('2021-11-02')];
    const job = {
      pipeline,
      processor: p,
      batch: { start: day('2021-11-01'), end: day('2021-11-02'), days: batchDays },
      runId: '20211103T120000-ab12',
      builtAt: Date.UTC(2021, 10, 3, 12),
      codeFingerprint: 'c0de',
      inputFingerprints: new Map(batchDays.map((d, i) => [d, `f${i}`])),
    };
    statements.length = 0;
    expect((await sqlBatch(warehouse, job, new AbortController().signal)).ok).toBe(true);
    statements.push('-- second batch');
    expect((await sqlBatch(warehouse, job, new AbortController().signal)).ok).toBe(true);
    await warehouse.close();
    expectGolden('sql-batch.sql', statements.map((sql) => `${sql};\n`).join('\n'));
  });

  it('pins the statements of a checked batch: rows staged, one query per check, only clean partitions written', async () => {
    const dbPath = join(tempProject(), 'nba.duckdb');
    await createTable(dbPath, 'nba.box', 'game_date', { '2021-11-01': 2, '2021-11-02': 1 });
    const statements: string[] = [];
    const warehouse = await openDuckdb(duckdbTarget(dbPath), { env: {}, readOnly: false, onStatement: (sql) => statements.push(sql) });
    const p = sqlProcessor(
      'PDC',
      'precompute.player_daily_cache',
      "SELECT game_date, id FROM {{ ref('box') }} WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }}\n",
      {
        partitionColumn: 'game_date',
        checks: [
          { name: 'not_null(id)', severity: 'error', rule: { kind: 'not_null', columns: ['id'] } },
          { name: 'row_count(min=2)', severity: 'error', rule: { kind: 'row_count', min: 2, max: undefined } },
        ],
      },
    );
    const pipeline = pipelineOf(dbPath, [source('box', 'nba.box'), p]);
    const batchDays = [day('2021-11-01'), day('2021-11-02')];
    const job = {
      pipeline,
      processor: p,
      batch: { start: day('2021-11-01'), end: day('2021-11-02'), days: batchDays },
      runId: '20211103T120000-ab12',
      builtAt: Date.UTC(2021, 10, 3, 12),
      codeFingerprint: 'c0de',
      inputFingerprints: new Map(batchDays.map((d, i) => [d, `f${i}`])),
    };
    statements.length = 0;
    const result = await sqlBatch(warehouse, job, new AbortController().signal);
    expect(result.ok && [...result.rows]).toEqual([[day('2021-11-01'), 2]]);
    await warehouse.close();
    expectGolden('sql-batch-checks.sql', statements.map((sql) => `${sql};\n`).join('\n'));
  });
});
