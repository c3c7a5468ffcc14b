/**
 * Failing well on BigQuery (through the loopback server): a misspelt column is a compile error, so
 * the processor fails once for the run — one billed job, not one per batch — with one summary line.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBqServer, type BqServer } from './bq-server/server.js';
import { jobInserts, loadTestPipeline, seedGames } from './bigquery-helpers.js';
import { runDag } from './support/cli.js';

let server: BqServer;
const dirs: string[] = [];
beforeAll(async () => {
  server = await startBqServer();
});
afterAll(async () => {
  await server.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const DATES = Array.from({ length: 30 }, (_, i) => new Date(Date.UTC(2021, 10, 1 + i)).toISOString().slice(0, 10));

describe('failing well on BigQuery', () => {
  it('a misspelt column over 30 days (batch_size 7): one job, 30 failures in one line, exit 1', async () => {
    await seedGames(server, DATES);
    const { dir } = await loadTestPipeline(server, {
      'sql/doubled.sql': "SELECT game_date, team, pionts * 2 AS points FROM {{ ref('games') }} WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }}\n",
    });
    dirs.push(dir);
    const yaml = join(dir, 'pipeline.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('batch_size: 31', 'batch_size: 7'));
    const before = jobInserts(server.log).length;
    const result = await runDag(['run', '--range', '2021-11-01..2021-11-30', '--select', 'DOUBLED', '--concurrency', '4'], {
      cwd: dir,
      env: { METADATA_SERVER_DETECTION: 'none' },
    });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/^ {2}DOUBLED PROCESSOR_ERROR ×30 2021-11-01\.\.30: BigQuery: Unrecognized name: pionts/m);
    // The batch scripts.
    const batches = jobInserts(server.log)
      .slice(before)
      .filter((job) => job.query.includes('pionts'));
    expect(batches).toHaveLength(1);
    // The 30 rows of _dag.failures are one INSERT job, not one per partition.
    const failureJobs = jobInserts(server.log)
      .slice(before)
      .filter((job) => /INSERT INTO `[^`]*\._dag\.failures`/.test(job.query));
    expect(failureJobs).toHaveLength(1);
    const rows = await server.exec(
      "SELECT COUNT(*) AS n, COUNT(DISTINCT partition_date) AS days FROM `test-project._dag.failures` WHERE processor = 'DOUBLED' AND category = 'PROCESSOR_ERROR'",
    );
    expect(rows.rows).toEqual([['30', '30']]);
  });
});
