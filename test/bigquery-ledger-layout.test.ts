/**
 * The BigQuery ledger's layout (issue 12 finding 7): `_dag.partitions` is partitioned by month of
 * partition_date and clustered by table and processor; a ledger created before is re-laid out once by
 * the next `dag run` (under the lock, every row kept, said so), an interrupted re-layout is finished,
 * and `dag ledger compact` keeps only each partition's latest row without changing any plan.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { BqServer } from './bq-server/server.js';
import { loadTestPipeline, seedGames, serverForFile } from './bigquery-helpers.js';
import { runDag } from './support/cli.js';

const files = serverForFile();
let server: BqServer;
let dir: string;
beforeEach(async () => {
  server = files.server();
  await server.exec(
    'DROP SCHEMA IF EXISTS `test-project.raw` CASCADE; DROP SCHEMA IF EXISTS `test-project.derived` CASCADE; DROP SCHEMA IF EXISTS `test-project._dag` CASCADE',
  );
  await server.exec('DELETE FROM __bq.partition_state WHERE TRUE; DELETE FROM __bq.partitioning WHERE TRUE');
  await seedGames(server, ['2021-11-01', '2021-11-02', '2021-11-03']);
  ({ dir } = await loadTestPipeline(server));
  files.dirs.push(dir);
});

const env = { METADATA_SERVER_DETECTION: 'none' };
const dag = (args: string[]) => runDag(args, { cwd: dir, env });
const RANGE = ['--range', '2021-11-01..2021-11-03', '--select', 'DOUBLED'];

async function partitioning(): Promise<string[]> {
  const r = await server.exec(
    "SELECT column_name FROM `test-project._dag.INFORMATION_SCHEMA.COLUMNS` WHERE table_name = 'partitions' AND is_partitioning_column = 'YES'",
  );
  return r.rows.map((row) => String(row[0]));
}
async function ledgerRows(): Promise<number> {
  return Number((await server.exec('SELECT COUNT(*) FROM `test-project._dag.partitions`')).rows[0]?.[0]);
}

/** A version-2 ledger as dag created it before partitioning it, with one build of DOUBLED. */
async function oldLedger(): Promise<void> {
  const built = await dag(['run', ...RANGE]);
  expect(built.code, built.stderr).toBe(0);
  await server.exec('CREATE TABLE `test-project._dag.old_rows` AS SELECT * FROM `test-project._dag.partitions`; DROP TABLE `test-project._dag.partitions`');
  await server.exec(
    'CREATE TABLE `test-project._dag.partitions` (processor STRING, partition_date DATE, run_id STRING, built_at TIMESTAMP, row_count INT64, code_fingerprint STRING, input_fingerprint STRING, table_name STRING) CLUSTER BY table_name, partition_date',
  );
  await server.exec('INSERT INTO `test-project._dag.partitions` SELECT * FROM `test-project._dag.old_rows`; DROP TABLE `test-project._dag.old_rows`');
  expect(await partitioning()).toEqual([]);
}

describe('BigQuery ledger layout', () => {
  it('a new ledger is partitioned by partition_date', async () => {
    expect((await dag(['run', ...RANGE])).code).toBe(0);
    expect(await partitioning()).toEqual(['partition_date']);
  });

  it('an unpartitioned ledger: plan warns, the next run re-lays it out under the lock and says so, keeping every row', async () => {
    await oldLedger();
    const plan = await dag(['plan', ...RANGE, '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stderr).toMatch(
      /ledger table _dag\.partitions of target 'bq' is not partitioned .*\n {2}hint: the next `dag run` re-lays it out once, under the run lock/,
    );
    const fresh = JSON.parse(plan.stdout) as { processors: { name: string; batches: unknown[] }[] };
    expect(fresh.processors.find((p) => p.name === 'DOUBLED')?.batches).toEqual([]);
    const run = await dag(['run', ...RANGE]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /re-laid out the ledger table _dag\.partitions of target 'bq': partitioned by month of partition_date, clustered by table_name, processor \(every row kept\)/,
    );
    expect(await partitioning()).toEqual(['partition_date']);
    expect(await ledgerRows()).toBe(3);
    expect(run.stdout).not.toMatch(/DOUBLED.*built/); // the rows were kept: nothing to rebuild
    const again = await dag(['plan', ...RANGE]);
    expect(again.stderr).not.toMatch(/not partitioned|re-laid out/);
  });

  it('a re-layout interrupted after dropping partitions: plan refuses with the way out, run finishes it', async () => {
    await oldLedger();
    await server.exec(
      'CREATE TABLE `test-project._dag.partitions_relayout` AS SELECT * FROM `test-project._dag.partitions`; DROP TABLE `test-project._dag.partitions`',
    );
    const plan = await dag(['plan', ...RANGE]);
    expect(plan.code, plan.stderr).toBe(2);
    expect(plan.stderr).toMatch(/partitions is missing and its rows are in test-project\._dag\.partitions_relayout\n {2}hint: run `dag run`/);
    const run = await dag(['run', ...RANGE]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/finished re-laying out the ledger table _dag\.partitions/);
    expect(await partitioning()).toEqual(['partition_date']);
    expect(await ledgerRows()).toBe(3);
    const tables = await server.exec("SELECT table_name FROM `test-project._dag.INFORMATION_SCHEMA.TABLES` WHERE table_name = 'partitions_relayout'");
    expect(tables.rows).toEqual([]);
  });

  it("dag ledger compact keeps each partition's latest row under the lock; plans do not change", async () => {
    expect((await dag(['run', ...RANGE])).code).toBe(0);
    expect((await dag(['run', ...RANGE, '--force'])).code).toBe(0);
    expect(await ledgerRows()).toBe(6);
    const before = await dag(['plan', '--range', '2021-11-01..2021-11-03', '--json']);
    const compact = await dag(['ledger', 'compact']);
    expect(compact.code, compact.stderr).toBe(0);
    expect(compact.stdout).toBe("dag: compacted the ledger of target 'bq': 6 rows → 3 (3 superseded rows removed)\n");
    expect(await ledgerRows()).toBe(3);
    const after = await dag(['plan', '--range', '2021-11-01..2021-11-03', '--json']);
    const strip = (text: string) => JSON.stringify({ ...(JSON.parse(text) as Record<string, unknown>), stats: undefined, generatedAt: undefined });
    expect(strip(after.stdout)).toBe(strip(before.stdout));
    const locks = await server.exec('SELECT COUNT(*) FROM `test-project._dag.locks`');
    expect(locks.rows[0]?.[0]).toBe('0'); // the lock was given back
  });
});
