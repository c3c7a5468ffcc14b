/**
 * `dag render` on a BigQuery target (the loopback server): the SELECT it prints is the one the batch
 * script jobs then carry (`CREATE TEMP TABLE _dag_rows AS <select>`), with backquoted project-qualified
 * tables and typed DATE literals.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobInserts, loadTestPipeline, seedGames } from './bigquery-helpers.js';
import { startBqServer, type BqServer } from './bq-server/server.js';
import { runDag } from './support/cli.js';

const env = { METADATA_SERVER_DETECTION: 'none', GOOGLE_APPLICATION_CREDENTIALS: undefined };
let server: BqServer;
let dir = '';

beforeAll(async () => {
  server = await startBqServer();
  ({ dir } = await loadTestPipeline(server));
  await seedGames(server, ['2021-11-01', '2021-11-02', '2021-11-03']);
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('dag render on BigQuery', () => {
  it("prints the SELECT the run's batch job then sends", async () => {
    const rendered = await runDag(['render', 'SUMMED', '--range', '2021-11-01..2021-11-03', '--json'], { cwd: dir, env });
    expect(rendered.stderr).toBe('');
    expect(rendered.code).toBe(0);
    const { batches } = JSON.parse(rendered.stdout) as { batches: { start: string; end: string; sql: string }[] };
    expect(batches).toHaveLength(1);
    const sql = batches[0]!.sql;
    expect(sql).toContain('FROM `test-project.derived.doubled`');
    expect(sql).toContain("WHERE game_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-03'");
    const run = await runDag(['run', '--range', '2021-11-01..2021-11-03', '--select', '+SUMMED'], { cwd: dir, env });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const scripts = jobInserts(server.log).filter((j) => !j.dryRun && j.query.includes('CREATE TEMP TABLE _dag_rows AS'));
    expect(scripts.some((j) => j.query.includes(`CREATE TEMP TABLE _dag_rows AS SELECT * FROM (\n${sql}\n) WHERE IF(`))).toBe(true);
  });
});
