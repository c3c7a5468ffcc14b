/**
 * The real `dag` binary against the loopback BigQuery server (pipeline api_endpoint): run, then run
 * again and find nothing to do; no key material or stack trace on any output.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBqServer, type BqServer } from './bq-server/server.js';
import { DOUBLED_SQL, PIPELINE_YAML, SUMMED_SQL, jobInserts, seedGames } from './bigquery-helpers.js';
import { looksLikeStackTrace, runDag, tempProject } from './support/cli.js';

let server: BqServer;
beforeAll(async () => {
  server = await startBqServer();
});
afterAll(async () => {
  await server.close();
});

it('dag run --target bq builds through BigQuery jobs, then has nothing left to do', async () => {
  await seedGames(server, ['2021-11-01', '2021-11-02', '2021-11-03']);
  const yaml = PIPELINE_YAML(server.url).replace(/  EXTERNAL:[\s\S]*$/, '');
  const dir = tempProject({ 'pipeline.yaml': yaml, 'sql/doubled.sql': DOUBLED_SQL, 'sql/summed.sql': SUMMED_SQL });
  const env = { METADATA_SERVER_DETECTION: 'none' };
  const first = await runDag(['run', '--range', '2021-11-01..2021-11-03', '--target', 'bq', '--json'], { cwd: dir, env });
  expect(looksLikeStackTrace(first.stderr + first.stdout)).toBe(false);
  expect(first.code, first.stderr).toBe(0);
  expect(jobInserts(server.log).every((j) => j.location === 'US')).toBe(true);
  const built = await server.exec('SELECT count(*) FROM `test-project.derived.summed`');
  expect(built.rows).toEqual([['3']]);
  const second = await runDag(['run', '--range', '2021-11-01..2021-11-03', '--target', 'bq', '--json'], { cwd: dir, env });
  expect(second.code, second.stderr).toBe(0);
  const batches = jobInserts(server.log).filter((j) => j.query.includes('CREATE TEMP TABLE _dag_rows'));
  expect(JSON.parse(second.stdout)).toMatchObject({ outcome: 'success', totals: { built: 0, jobs: 0 } });
  expect(batches).toHaveLength(2); // one per processor in the first run, none in the second
});
