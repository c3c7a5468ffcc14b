import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseIsoDate, type Day } from '../src/core/dates.js';
import type { Processor } from '../src/core/model.js';
import type { Warehouse } from '../src/warehouse/port.js';
import { openDuckdb } from '../src/warehouse/duckdb/index.js';
import { tempProject } from './support/cli.js';
import { createTable, duckdbTarget, queryRows } from './support/duckdb.js';
import { pipelineOf, source, sqlProcessor } from './support/duckdb-pipeline.js';
import { sqlBatch, type TestJob } from './support/batches.js';

const day = (iso: string): Day => parseIsoDate(iso) ?? Number.NaN;
const days = (from: string, to: string): Day[] => Array.from({ length: day(to) - day(from) + 1 }, (_, i) => day(from) + i);
const opened: Warehouse[] = [];
afterEach(async () => {
  for (const warehouse of opened.splice(0)) await warehouse.close();
});

async function setup(fileName = 'w.duckdb', schema = 'raw') {
  const dbPath = join(tempProject(), fileName);
  await createTable(dbPath, `${schema}.box`, 'game_date', { '2021-11-01': 3, '2021-11-02': 2, '2021-11-04': 1 });
  const warehouse = await openDuckdb(duckdbTarget(dbPath), { env: {}, readOnly: false });
  opened.push(warehouse);
  return { dbPath, warehouse, box: source('box', `${schema}.box`) };
}

function job(dbPath: string, processor: Processor, from: string, to: string, nodes = [processor]): TestJob {
  const batchDays = days(from, to);
  return {
    pipeline: pipelineOf(dbPath, [source('box', processor.table.schema === 'nba' ? 'nba.box' : 'raw.box'), ...nodes]),
    processor,
    batch: { start: day(from), end: day(to), days: batchDays },
    runId: 'run-1',
    builtAt: 1_700_000_000_123,
    codeFingerprint: 'code-1',
    inputFingerprints: new Map(batchDays.map((d) => [d, `in-${d}`])),
  };
}

const COUNTS = `SELECT game_date, count(*) AS n FROM {{ ref('box') }} WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }} GROUP BY 1`;

describe('duckdb runSqlBatch', () => {
  it('creates the table, writes rows and one ledger row per day (0 rows for empty days) in a schema-named file', async () => {
    const { dbPath, warehouse } = await setup('nba.duckdb', 'nba');
    const p = sqlProcessor('P', 'nba.p', COUNTS);
    const outcome = await sqlBatch(warehouse, job(dbPath, p, '2021-11-01', '2021-11-03'), new AbortController().signal);
    expect(outcome).toEqual({
      ok: true,
      rows: new Map([
        [day('2021-11-01'), 1],
        [day('2021-11-02'), 1],
        [day('2021-11-03'), 0],
      ]),
      absent: [],
    });
    const snapshot = await warehouse.readSnapshot(job(dbPath, p, '2021-11-01', '2021-11-01').pipeline, ['P']);
    expect(snapshot.ledger.get('P')?.get(day('2021-11-03'))).toEqual({ runId: 'run-1', builtAt: 1_700_000_000_123, rows: 0, codeFingerprint: 'code-1' });
    expect(snapshot.tables.get('P')?.partitions.size).toBe(2);
    await warehouse.close();
    opened.pop();
    expect(await queryRows(dbPath, `SELECT game_date::VARCHAR AS d, n FROM nba.p ORDER BY 1`)).toEqual([
      { d: '2021-11-01', n: '3' },
      { d: '2021-11-02', n: '2' },
    ]);
    // The input fingerprint is kept for audit in the ledger table (snapshots do not read it back).
    expect(await queryRows(dbPath, `SELECT input_fingerprint AS f FROM _dag.partitions WHERE partition_date = DATE '2021-11-03'`)).toEqual([
      { f: `in-${day('2021-11-03')}` },
    ]);
  });

  it('accepts a SELECT file that ends with a semicolon and a comment line, as people write them', async () => {
    const { dbPath, warehouse } = await setup();
    const p = sqlProcessor('P', 'out.p', `${COUNTS};\n-- end of the daily counts\n`);
    const outcome = await sqlBatch(warehouse, job(dbPath, p, '2021-11-01', '2021-11-02'), new AbortController().signal);
    expect(outcome).toMatchObject({
      ok: true,
      rows: new Map([
        [day('2021-11-01'), 1],
        [day('2021-11-02'), 1],
      ]),
    });
  });

  it('replaces only start..end and keeps other partitions', async () => {
    const { dbPath, warehouse } = await setup();
    const p = sqlProcessor('P', 'out.p', COUNTS);
    await sqlBatch(warehouse, job(dbPath, p, '2021-11-01', '2021-11-04'), new AbortController().signal);
    const again = sqlProcessor(
      'P',
      'out.p',
      `SELECT game_date, 99 AS n FROM {{ ref('box') }} WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }} GROUP BY 1`,
    );
    const outcome = await sqlBatch(warehouse, job(dbPath, again, '2021-11-02', '2021-11-02'), new AbortController().signal);
    expect(outcome.ok).toBe(true);
    await warehouse.close();
    opened.pop();
    expect(await queryRows(dbPath, `SELECT game_date::VARCHAR AS d, n FROM out.p ORDER BY 1`)).toEqual([
      { d: '2021-11-01', n: '3' },
      { d: '2021-11-02', n: '99' },
      { d: '2021-11-04', n: '1' },
    ]);
  });

  it('rejects rows outside the batch (OUT_OF_RANGE_ROWS) and writes nothing', async () => {
    const { dbPath, warehouse } = await setup();
    const p = sqlProcessor('P', 'out.p', COUNTS);
    await sqlBatch(warehouse, job(dbPath, p, '2021-11-01', '2021-11-02'), new AbortController().signal);
    const leaky = sqlProcessor('P', 'out.p', `SELECT game_date, 7 AS n FROM {{ ref('box') }} GROUP BY 1`);
    const outcome = await sqlBatch(warehouse, { ...job(dbPath, leaky, '2021-11-01', '2021-11-02'), runId: 'run-2' }, new AbortController().signal);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.failure.category).toBe('OUT_OF_RANGE_ROWS');
      expect(outcome.failure.message).toContain('2021-11-04');
    }
    const nulls = sqlProcessor('P', 'out.p', `SELECT NULL::DATE AS game_date, 1 AS n`);
    const nullOutcome = await sqlBatch(warehouse, job(dbPath, nulls, '2021-11-01', '2021-11-02'), new AbortController().signal);
    expect(!nullOutcome.ok && nullOutcome.failure.category).toBe('OUT_OF_RANGE_ROWS');
    await warehouse.close();
    opened.pop();
    expect(await queryRows(dbPath, `SELECT game_date::VARCHAR AS d, n FROM out.p ORDER BY 1`)).toEqual([
      { d: '2021-11-01', n: '3' },
      { d: '2021-11-02', n: '2' },
    ]);
    expect(await queryRows(dbPath, `SELECT DISTINCT run_id FROM _dag.partitions`)).toEqual([{ run_id: 'run-1' }]);
  });

  it('rejects rows outside the first batch of a new table and leaves no table behind', async () => {
    const { dbPath, warehouse } = await setup();
    const leaky = sqlProcessor('P', 'out.p', `SELECT game_date, count(*) AS n FROM {{ ref('box') }} GROUP BY 1`);
    const outcome = await sqlBatch(warehouse, job(dbPath, leaky, '2021-11-01', '2021-11-02'), new AbortController().signal);
    expect(!outcome.ok && outcome.failure).toMatchObject({
      category: 'OUT_OF_RANGE_ROWS',
      message: expect.stringContaining('1 row(s) dated outside the batch (e.g. 2021-11-04)'),
    });
    await warehouse.close();
    opened.pop();
    expect(await queryRows(dbPath, `SELECT count(*) AS n FROM duckdb_tables() WHERE schema_name = 'out'`)).toEqual([{ n: '0' }]);
    expect(await queryRows(dbPath, `SELECT count(*) AS n FROM _dag.partitions`)).toEqual([{ n: '0' }]);
  });

  it('classifies bad SQL and a missing partition column as data-independent PROCESSOR_ERROR; a new column is added, or refused under on_schema_change: fail', async () => {
    const { dbPath, warehouse } = await setup();
    const signal = new AbortController().signal;
    const bad = await sqlBatch(warehouse, job(dbPath, sqlProcessor('P', 'out.p', 'SELEC nonsense'), '2021-11-01', '2021-11-01'), signal);
    expect(!bad.ok && bad.failure).toMatchObject({
      category: 'PROCESSOR_ERROR',
      dataIndependent: true,
      message: expect.stringMatching(/^P 2021-11-01\.\.2021-11-01: Parser Error/),
    });
    const noColumn = await sqlBatch(warehouse, job(dbPath, sqlProcessor('P', 'out.p', 'SELECT 1 AS x'), '2021-11-01', '2021-11-01'), signal);
    expect(!noColumn.ok && noColumn.failure).toMatchObject({ dataIndependent: true, message: expect.stringMatching(/no column 'game_date'/) });
    await sqlBatch(warehouse, job(dbPath, sqlProcessor('P', 'out.p', COUNTS), '2021-11-01', '2021-11-01'), signal);
    const text = `SELECT game_date, count(*) AS total FROM {{ ref('box') }} WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }} GROUP BY 1`;
    const strict = await sqlBatch(warehouse, job(dbPath, { ...sqlProcessor('P', 'out.p', text), onSchemaChange: 'fail' }, '2021-11-02', '2021-11-02'), signal);
    expect(!strict.ok && strict.failure).toMatchObject({
      category: 'PROCESSOR_ERROR',
      dataIndependent: true,
      message: expect.stringContaining(
        "the SELECT's columns differ from table out.p's (new column total BIGINT; column n no longer yielded) and P has on_schema_change: fail; nothing was written",
      ),
    });
    expect((await sqlBatch(warehouse, job(dbPath, sqlProcessor('P', 'out.p', text), '2021-11-02', '2021-11-02'), signal)).ok).toBe(true);
    await warehouse.close();
    opened.pop();
    expect(await queryRows(dbPath, `SELECT game_date::VARCHAR AS d, n, total FROM out.p ORDER BY 1`)).toEqual([
      { d: '2021-11-01', n: '3', total: null },
      { d: '2021-11-02', n: null, total: '2' },
    ]);
  });

  it('interrupts a running batch on abort (CANCELLED) and keeps the old partitions', async () => {
    const { dbPath, warehouse } = await setup();
    const p = sqlProcessor('P', 'out.p', COUNTS);
    await sqlBatch(warehouse, job(dbPath, p, '2021-11-01', '2021-11-02'), new AbortController().signal);
    const slow = sqlProcessor('P', 'out.p', `SELECT {{ start_date }} AS game_date, count(*) AS n FROM range(10000000000) AS r(i) WHERE hash(i) = 7`);
    const controller = new AbortController();
    const running = sqlBatch(warehouse, { ...job(dbPath, slow, '2021-11-01', '2021-11-02'), runId: 'run-2' }, controller.signal);
    setTimeout(() => controller.abort(), 300);
    const outcome = await running;
    expect(!outcome.ok && outcome.failure.category).toBe('CANCELLED');
    // The connection pool still works after an interrupt.
    expect((await sqlBatch(warehouse, job(dbPath, p, '2021-11-04', '2021-11-04'), new AbortController().signal)).ok).toBe(true);
    await warehouse.close();
    opened.pop();
    expect(await queryRows(dbPath, `SELECT game_date::VARCHAR AS d, n FROM out.p ORDER BY 1`)).toEqual([
      { d: '2021-11-01', n: '3' },
      { d: '2021-11-02', n: '2' },
      { d: '2021-11-04', n: '1' },
    ]);
    expect(await queryRows(dbPath, `SELECT count(*) AS n FROM _dag.partitions WHERE run_id = 'run-2'`)).toEqual([{ n: '0' }]);
  }, 30_000);

  it('runs batches of different processors and of one processor concurrently', async () => {
    const { dbPath, warehouse } = await setup();
    const p = sqlProcessor('P', 'out.p', COUNTS);
    const q = sqlProcessor('Q', 'out.q', COUNTS);
    const signal = new AbortController().signal;
    await sqlBatch(warehouse, job(dbPath, p, '2021-11-01', '2021-11-01'), signal);
    const outcomes = await Promise.all([
      sqlBatch(warehouse, job(dbPath, p, '2021-11-02', '2021-11-02'), signal),
      sqlBatch(warehouse, job(dbPath, p, '2021-11-04', '2021-11-04'), signal),
      sqlBatch(warehouse, job(dbPath, q, '2021-11-01', '2021-11-04'), signal),
    ]);
    expect(outcomes.map((o) => o.ok || o.failure)).toEqual([true, true, true]);
    await warehouse.close();
    opened.pop();
    expect(await queryRows(dbPath, `SELECT processor, count(*) AS n FROM _dag.partitions GROUP BY 1 ORDER BY 1`)).toEqual([
      { processor: 'P', n: '3' },
      { processor: 'Q', n: '4' },
    ]);
  });
});
