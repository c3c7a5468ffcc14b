/**
 * `dag runs` on BigQuery (through the loopback server): a run that fails one day of DOUBLED (SUMMED
 * then upstream-failed), then a run with the SQL fixed. The ledger's run summaries and batches are
 * written and read in BigQuery's dialect; the JSON matches schema/runs-output.schema.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOUBLED_SQL, loadTestPipeline, rewrite, seedGames } from './bigquery-helpers.js';
import { startBqServer, type BqServer } from './bq-server/server.js';
import { projectRoot, runDag } from './support/cli.js';

const env = { METADATA_SERVER_DETECTION: 'none', GOOGLE_APPLICATION_CREDENTIALS: undefined };
const RANGE = '2021-11-01..2021-11-05';
const BAD_SQL = DOUBLED_SQL.replace('points * 2 AS points', `CAST(IF(game_date = DATE '2021-11-03', 'x', '2') AS INT64) * points AS points`);

const schema = JSON.parse(readFileSync(join(projectRoot, 'schema', 'runs-output.schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true }).compile(schema);

let server: BqServer;
let dir = '';

beforeAll(async () => {
  server = await startBqServer();
  dir = (await loadTestPipeline(server, { 'sql/doubled.sql': BAD_SQL })).dir;
  await seedGames(server, ['2021-11-01', '2021-11-02', '2021-11-03', '2021-11-04', '2021-11-05']);
});

afterAll(async () => {
  await server?.close();
});

const dag = (args: string[]) => runDag(args, { cwd: dir, env, timeoutMs: 90_000 });

function json<T>(stdout: string): T {
  const value = JSON.parse(stdout) as T;
  expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
  return value;
}

describe('dag runs on BigQuery', () => {
  it('lists a failed run and its fixing run, one run with its batches, and the failures built since', async () => {
    const first = await dag(['run', '--range', RANGE, '--select', 'DOUBLED,SUMMED']);
    expect(first.code, first.stdout + first.stderr).toBe(1);
    rewrite(dir, 'sql/doubled.sql', DOUBLED_SQL);
    const second = await dag(['run', '--range', RANGE, '--select', 'DOUBLED,SUMMED']);
    expect(second.code, second.stdout + second.stderr).toBe(0);

    type Run = { run_id: string; outcome: string; range: { start: string; end: string }; counts: { built: number; failed: number; upstream_failed: number } };
    const { runs } = json<{ runs: Run[] }>((await dag(['runs', '--json'])).stdout);
    expect(runs.map((r) => r.outcome)).toEqual(['success', 'failed']);
    const [fixing, failing] = runs as [Run, Run];
    expect(failing.range).toEqual({ start: '2021-11-01', end: '2021-11-05' });
    expect(failing.counts.failed).toBeGreaterThan(0);
    expect(failing.counts.upstream_failed).toBeGreaterThan(0);
    expect(failing.counts.built + failing.counts.failed + failing.counts.upstream_failed).toBe(10);
    expect(fixing.counts).toMatchObject({ failed: 0, upstream_failed: 0 });

    const text = await dag(['runs']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^${failing.run_id} .* bq +2021-11-01\\.\\.2021-11-05 +failed `, 'm'));

    const detail = json<{ batches: { processor: string; start: string; end: string; outcome: string }[] }>(
      (await dag(['runs', failing.run_id, '--json'])).stdout,
    );
    const failedBatch = detail.batches.find((b) => b.processor === 'DOUBLED' && b.outcome === 'failed');
    expect(failedBatch && failedBatch.start <= '2021-11-03' && '2021-11-03' <= failedBatch.end).toBe(true);
    expect(detail.batches.some((b) => b.processor === 'SUMMED' && b.outcome === 'upstream_failed')).toBe(true);

    const { failures } = json<{ failures: { run_id: string; processor: string; date: string; built_since: { run_id: string } | null }[] }>(
      (await dag(['runs', '--failures', '--json'])).stdout,
    );
    const bad = failures.find((f) => f.processor === 'DOUBLED' && f.date === '2021-11-03');
    expect(bad).toMatchObject({ run_id: failing.run_id, built_since: { run_id: fixing.run_id } });
    expect(failures.every((f) => f.run_id === failing.run_id && f.built_since?.run_id === fixing.run_id)).toBe(true);
  }, 180_000);
});
