import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BigQuery } from '@google-cloud/bigquery';
import { startBqServer, type BqServer } from './bq-server/server.js';

process.env.METADATA_SERVER_DETECTION = 'none';
let server: BqServer;
beforeAll(async () => {
  server = await startBqServer();
});
afterAll(async () => {
  await server.close();
});

describe('loopback BigQuery server', () => {
  it('runs a script job through the real client', async () => {
    const bq = new BigQuery({ projectId: 'test-project', apiEndpoint: server.url });
    await server.exec('CREATE SCHEMA raw; CREATE TABLE `test-project.raw.games` (game_date DATE, team STRING, points INT64) PARTITION BY game_date');
    const [job] = await bq.createQueryJob({
      query: "INSERT INTO `test-project.raw.games` VALUES (DATE '2021-11-01', 'A', 100), (DATE '2021-11-02', 'B', 90)",
      location: 'US',
    });
    await job.getQueryResults({ timeoutMs: 5000 });
    const [job2] = await bq.createQueryJob({
      query:
        'SELECT table_name, partition_id, total_rows, UNIX_MILLIS(last_modified_time) AS m FROM `test-project.raw.INFORMATION_SCHEMA.PARTITIONS` WHERE table_name IN UNNEST(@tables) ORDER BY partition_id',
      params: { tables: ['games'] },
      location: 'US',
    });
    const [rows] = await job2.getQueryResults({ timeoutMs: 5000 });
    expect(rows.map((r: { partition_id: string }) => r.partition_id)).toEqual(['20211101', '20211102']);
    const [exists] = await bq.dataset('raw').table('games').exists();
    expect(exists).toBe(true);
    const [missing] = await bq.dataset('raw').table('nope').exists();
    expect(missing).toBe(false);
    expect(server.log.filter((l) => l.method === 'POST' && l.path === '/projects/test-project/jobs')).toHaveLength(2);
  });
});
