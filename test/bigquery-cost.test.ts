/**
 * `plan --cost` on BigQuery (issue 12 finding 4): a batch's estimate is its script's on-demand bill,
 * statement by statement: the SELECT's dry run, the replaced partitions' total_logical_bytes (which the
 * DELETE bills, and the INSERT's staged rows are taken to match), and 10 MB for every billed statement.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { BqServer } from './bq-server/server.js';
import { batchJob, loadTestPipeline, openTestWarehouse, seedGames, serverForFile } from './bigquery-helpers.js';
import { sqlBatch } from './support/batches.js';
import { batchBill, MIN_BILLED_BYTES } from '../src/warehouse/bigquery/cost.js';

const files = serverForFile();
let server: BqServer;
beforeEach(async () => {
  server = files.server();
  await server.exec(
    'DROP SCHEMA IF EXISTS `test-project.raw` CASCADE; DROP SCHEMA IF EXISTS `test-project.derived` CASCADE; DROP SCHEMA IF EXISTS `test-project._dag` CASCADE',
  );
  await server.exec('DELETE FROM __bq.partition_state WHERE TRUE; DELETE FROM __bq.partitioning WHERE TRUE');
});

const MB = MIN_BILLED_BYTES;

describe('BigQuery cost estimate', () => {
  it('one batch bills five statements, each at least 10 MB; a new table adds its CREATE TABLE AS SELECT', () => {
    expect(batchBill(0, 0, false).map((s) => s.bytes)).toEqual([MB, MB, MB, MB, MB]);
    expect(batchBill(3 * MB, 25 * MB, true).map((s) => s.bytes)).toEqual([3 * MB, MB, 25 * MB, 25 * MB, MB, MB]);
  });

  it("adds the replaced partitions' bytes (DELETE and INSERT) and the per-statement minimums to the dry run", async () => {
    await seedGames(server, ['2021-11-01', '2021-11-02']);
    const { pipeline, dir } = await loadTestPipeline(server);
    files.dirs.push(dir);
    const warehouse = await openTestWarehouse(pipeline);
    const job = batchJob(pipeline, 'DOUBLED', ['2021-11-01', '2021-11-02']);
    // Before the table exists: five statements at the minimum plus the CREATE TABLE of the new table.
    await warehouse.readSnapshot(pipeline, ['games', 'DOUBLED']);
    expect(await warehouse.estimateBytes(job)).toBe(6 * MB);
    expect((await sqlBatch(warehouse, job, new AbortController().signal)).ok).toBe(true);
    // A big partition now: 200,000 more rows on 2021-11-01 (the server counts 100 logical bytes a row).
    await server.exec("INSERT INTO `test-project.derived.doubled` (game_date, team, points) SELECT DATE '2021-11-01', 'X', x FROM range(200000) t(x)");
    const sizes = await server.exec("SELECT SUM(total_logical_bytes) FROM `test-project.derived.INFORMATION_SCHEMA.PARTITIONS` WHERE table_name = 'doubled'");
    const replaced = Number(sizes.rows[0]?.[0]);
    expect(replaced).toBeGreaterThan(MB);
    const fresh = await openTestWarehouse(pipeline);
    await fresh.readSnapshot(pipeline, ['games', 'DOUBLED']);
    // The SELECT's dry run is under 10 MB here: 10 MB, then DELETE and INSERT at the replaced size, ledger and counts at 10 MB.
    expect(await fresh.estimateBytes(job)).toBe(MB + 2 * replaced + 2 * MB);
    // A batch outside the big partition replaces nothing of it.
    expect(await fresh.estimateBytes(batchJob(pipeline, 'DOUBLED', ['2021-11-02']))).toBe(5 * MB);
    await Promise.all([warehouse.close(), fresh.close()]);
  });
});
