/**
 * The loopback server rejects and reports what BigQuery does (issue 12, finding 9), item by item:
 * non-DAY partition ids, the NULL row of an unpartitioned table and the `__UNPARTITIONED__` row of
 * streamed rows, last_modified_time on any write, table-level transaction conflicts, label rules,
 * the 4,000-partitions-per-job limit, maximumBytesBilled and DATE vs TIMESTAMP. (Permanent DDL inside a transaction:
 * test/bigquery-schema-change.test.ts.)
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BigQuery } from '@google-cloud/bigquery';
import { startBqServer, type BqServer } from './bq-server/server.js';

process.env.METADATA_SERVER_DETECTION = 'none';
const P = 'test-project';
let server: BqServer;
beforeEach(async () => {
  server = await startBqServer();
  await server.exec(`CREATE SCHEMA \`${P}.d\``);
});
afterEach(async () => {
  await server.close();
});

async function partitions(table: string): Promise<{ id: string | null; rows: number; modified: number }[]> {
  const result = await server.exec(
    `SELECT partition_id, total_rows, UNIX_MILLIS(last_modified_time) FROM \`${P}.d.INFORMATION_SCHEMA.PARTITIONS\` WHERE table_name = '${table}' ORDER BY partition_id NULLS FIRST`,
  );
  return result.rows.map((r) => ({ id: r[0] ?? null, rows: Number(r[1]), modified: Number(r[2]) }));
}

const days = (n: number, from = Date.UTC(2010, 0, 1)) => Array.from({ length: n }, (_, i) => new Date(from + i * 86_400_000).toISOString().slice(0, 10));

describe('the loopback server, strict as BigQuery', () => {
  it('MONTH and YEAR partitioning give YYYYMM / YYYY partition ids, timePartitioning.type and the ddl', async () => {
    await server.exec(`CREATE TABLE \`${P}.d.m\` (day DATE, x INT64) PARTITION BY DATE_TRUNC(day, MONTH);
      CREATE TABLE \`${P}.d.y\` (day DATE, x INT64) PARTITION BY DATE_TRUNC(day, YEAR);
      INSERT INTO \`${P}.d.m\` VALUES (DATE '2021-11-01', 1), (DATE '2021-11-20', 2), (DATE '2021-12-01', 3);
      INSERT INTO \`${P}.d.y\` VALUES (DATE '2021-11-01', 1), (DATE '2022-01-01', 2)`);
    expect((await partitions('m')).map((p) => [p.id, p.rows])).toEqual([
      ['202111', 2],
      ['202112', 1],
    ]);
    expect((await partitions('y')).map((p) => p.id)).toEqual(['2021', '2022']);
    const [metadata] = await new BigQuery({ projectId: P, apiEndpoint: server.url }).dataset('d').table('m').getMetadata();
    expect(metadata.timePartitioning).toMatchObject({ type: 'MONTH', field: 'day' });
    const ddl = await server.exec(`SELECT ddl FROM \`${P}.d.INFORMATION_SCHEMA.TABLES\` WHERE table_name = 'm'`);
    expect(ddl.rows[0]?.[0]).toMatch(/PARTITION BY DATE_TRUNC\(day, MONTH\)/);
  });

  it('an unpartitioned table has one row with a NULL partition_id; streamed rows sit in __UNPARTITIONED__ until the buffer is flushed', async () => {
    await server.exec(`CREATE TABLE \`${P}.d.u\` (x INT64); INSERT INTO \`${P}.d.u\` VALUES (1), (2);
      CREATE TABLE \`${P}.d.t\` (day DATE, x INT64) PARTITION BY day; INSERT INTO \`${P}.d.t\` VALUES (DATE '2021-11-01', 1)`);
    expect((await partitions('u')).map((p) => [p.id, p.rows])).toEqual([[null, 2]]);
    const client = new BigQuery({ projectId: P, apiEndpoint: server.url });
    await client
      .dataset('d')
      .table('t')
      .insert([
        { day: '2021-11-02', x: 2 },
        { day: '2021-11-02', x: 3 },
      ]);
    expect((await partitions('t')).map((p) => [p.id, p.rows])).toEqual([
      ['20211101', 1],
      ['__UNPARTITIONED__', 2],
    ]);
    const [metadata] = await client.dataset('d').table('t').getMetadata();
    expect(metadata.streamingBuffer).toMatchObject({ estimatedRows: '2' });
    // Queryable meanwhile, as on BigQuery.
    expect((await server.exec(`SELECT count(*) FROM \`${P}.d.t\``)).rows).toEqual([['3']]);
    await server.flushStreamingBuffer();
    expect((await partitions('t')).map((p) => [p.id, p.rows])).toEqual([
      ['20211101', 1],
      ['20211102', 2],
    ]);
  });

  it('last_modified_time moves on any write to a partition, also one that leaves its content as it was', async () => {
    await server.exec(
      `CREATE TABLE \`${P}.d.t\` (day DATE, x INT64) PARTITION BY day; INSERT INTO \`${P}.d.t\` VALUES (DATE '2021-11-01', 1), (DATE '2021-11-02', 2)`,
    );
    const before = await partitions('t');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await server.exec(`UPDATE \`${P}.d.t\` SET x = x WHERE day = DATE '2021-11-01'`);
    const after = await partitions('t');
    expect(after[0]!.modified).toBeGreaterThan(before[0]!.modified);
    expect(after[1]!.modified).toBe(before[1]!.modified);
    // An unpartitioned table's row moves too.
    await server.exec(`CREATE TABLE \`${P}.d.u\` (x INT64); INSERT INTO \`${P}.d.u\` VALUES (1)`);
    const first = (await partitions('u'))[0]!.modified;
    await new Promise((resolve) => setTimeout(resolve, 5));
    await server.exec(`UPDATE \`${P}.d.u\` SET x = x WHERE TRUE`);
    expect((await partitions('u'))[0]!.modified).toBeGreaterThan(first);
  });

  it('two transactions mutating one table: the later commit aborts with "concurrent update"; INSERT-only ones both commit', async () => {
    await server.exec(`CREATE TABLE \`${P}.d.t\` (day DATE, x INT64) PARTITION BY day;
      INSERT INTO \`${P}.d.t\` VALUES (DATE '2021-11-01', 1), (DATE '2021-11-02', 2)`);
    let releaseFirst!: () => void;
    const firstMayCommit = new Promise<void>((resolve) => (releaseFirst = resolve));
    const script = (day: string) => `BEGIN TRANSACTION; DELETE FROM \`${P}.d.t\` WHERE day = DATE '${day}'; COMMIT TRANSACTION`;
    // The first deletes one day, then waits at its COMMIT while the second deletes another day and commits.
    const first = server.engine.runScript(script('2021-11-01'), [], { beforeStatement: async (i) => (i === 2 ? firstMayCommit : undefined) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await server.engine.runScript(script('2021-11-02'), []);
    releaseFirst();
    await expect(first).rejects.toThrow(/Transaction is aborted due to concurrent update against table test-project:d\.t/);
    expect((await partitions('t')).map((p) => p.id)).toEqual(['20211101']); // the first rolled back

    await server.exec(`CREATE TABLE \`${P}.d.log\` (x INT64)`);
    let releaseInsert!: () => void;
    const insertMayCommit = new Promise<void>((resolve) => (releaseInsert = resolve));
    const insert = (x: number) => `BEGIN TRANSACTION; INSERT INTO \`${P}.d.log\` VALUES (${x}); COMMIT TRANSACTION`;
    const one = server.engine.runScript(insert(1), [], { beforeStatement: async (i) => (i === 2 ? insertMayCommit : undefined) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await server.engine.runScript(insert(2), []);
    releaseInsert();
    await one;
    expect((await partitions('log'))[0]!.rows).toBe(2);
  });

  it('a job modifying more than 4,000 partitions of a table fails and writes nothing', async () => {
    await server.exec(`CREATE TABLE \`${P}.d.t\` (day DATE, x INT64) PARTITION BY day`);
    const values = (list: string[]) => list.map((d) => `(DATE '${d}', 1)`).join(', ');
    await expect(server.exec(`INSERT INTO \`${P}.d.t\` VALUES ${values(days(4_001))}`)).rejects.toThrow(/Too many partitions produced by query, allowed 4000/);
    expect(await partitions('t')).toEqual([]);
    await server.exec(`INSERT INTO \`${P}.d.t\` VALUES ${values(days(4_000))}`);
    expect(await partitions('t')).toHaveLength(4_000);
  });

  it('refuses bad label keys and values; maximumBytesBilled below what a query bills fails it (10 MB minimum)', async () => {
    const client = new BigQuery({ projectId: P, apiEndpoint: server.url });
    await expect(client.createQueryJob({ query: 'SELECT 1', location: 'US', labels: { Team: 'x' } })).rejects.toThrow(/Invalid label key: Team/);
    await expect(client.createQueryJob({ query: 'SELECT 1', location: 'US', labels: { '1team': 'x' } })).rejects.toThrow(/Invalid label key/);
    await expect(client.createQueryJob({ query: 'SELECT 1', location: 'US', labels: { team: 'Data Team' } })).rejects.toThrow(/Invalid label value/);
    const [ok] = await client.createQueryJob({ query: 'SELECT 1', location: 'US', labels: { team: '', 'dag-run_1': 'a-b_c' } });
    await ok.getQueryResults();
    const [capped] = await client.createQueryJob({ query: 'SELECT 1', location: 'US', maximumBytesBilled: '1000' });
    await expect(capped.getQueryResults()).rejects.toThrow(/Query exceeded limit for bytes billed: 1000\. 10485760 or higher required/);
    const [enough] = await client.createQueryJob({ query: 'SELECT 1', location: 'US', maximumBytesBilled: '20000000' });
    await enough.getQueryResults();
  });

  it('a DATE compared with a TIMESTAMP is a type error, in a query and its dry run; written casts and literals pass', async () => {
    await server.exec(
      `CREATE TABLE \`${P}.d.t\` (day DATE, seen TIMESTAMP) PARTITION BY day; INSERT INTO \`${P}.d.t\` VALUES (DATE '2021-11-01', TIMESTAMP '2021-11-01 10:00:00')`,
    );
    await expect(server.exec(`SELECT count(*) FROM \`${P}.d.t\` WHERE day >= TIMESTAMP '2021-11-01'`)).rejects.toThrow(
      /No matching signature for operator for argument types: DATE, TIMESTAMP/,
    );
    await expect(server.exec(`SELECT count(*) FROM \`${P}.d.t\` WHERE day = seen`)).rejects.toThrow(/DATE, TIMESTAMP/);
    await expect(server.exec(`CREATE TEMP TABLE x AS SELECT day FROM \`${P}.d.t\` WHERE day < CURRENT_TIMESTAMP()`)).rejects.toThrow(/DATE, TIMESTAMP/);
    const client = new BigQuery({ projectId: P, apiEndpoint: server.url });
    await expect(client.createQueryJob({ query: `SELECT day FROM \`${P}.d.t\` WHERE day < seen`, location: 'US', dryRun: true })).rejects.toThrow(
      /DATE, TIMESTAMP/,
    );
    expect(
      (await server.exec(`SELECT count(*) FROM \`${P}.d.t\` WHERE CAST(day AS TIMESTAMP) <= seen AND seen > '2021-01-01' AND day >= DATE '2021-11-01'`)).rows,
    ).toEqual([['1']]);
  });
});
