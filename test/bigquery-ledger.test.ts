/**
 * Ledger identity and integrity on the BigQuery target, through the real CLI against the loopback
 * server: a renamed processor keeps its table's history (fresh, or code_changed and rebuilt); a
 * ledger dataset from before version 2 (no meta, no table_name) is read by name by plan and migrated
 * by run; a newer or damaged one is refused with exit 2. And the inventory reads a table's
 * partition_expiration_days.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBqServer, type BqServer } from './bq-server/server.js';
import { day, loadTestPipeline, openTestWarehouse, PROJECT, seedGames } from './bigquery-helpers.js';
import { looksLikeStackTrace, runDag, tempProject, type DagResult } from './support/cli.js';

const RANGE = '2021-11-01..2021-11-03';
const DATES = ['2021-11-01', '2021-11-02', '2021-11-03'];
const env = { METADATA_SERVER_DETECTION: 'none', GOOGLE_APPLICATION_CREDENTIALS: undefined };

const yaml = (endpoint: string, name: string, sql = 'doubled.sql') => `version: 1
name: bqledger
targets:
  bq: { type: bigquery, project: ${PROJECT}, location: US, api_endpoint: "${endpoint}" }
default_target: bq
defaults: { partition_column: game_date, retries: 0 }
sources:
  games: { table: raw.games }
processors:
  ${name}:
    table: derived.doubled
    upstream: [games]
    sql: ${sql}
`;
const DOUBLED = "SELECT game_date, team, points * 2 AS points FROM {{ ref('games') }} WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }}\n";
const TRIPLED = "SELECT game_date, team, points * 3 AS points FROM {{ ref('games') }} WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }}\n";

let server: BqServer;
let dir = '';
beforeEach(async () => {
  server = await startBqServer();
  await seedGames(server, DATES);
  dir = tempProject({ 'pipeline.yaml': yaml(server.url, 'OLD'), 'doubled.sql': DOUBLED, 'tripled.sql': TRIPLED });
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function dag(...args: string[]): Promise<DagResult> {
  const result = await runDag(args, { cwd: dir, env });
  expect(looksLikeStackTrace(result.stderr + result.stdout), result.stderr).toBe(false);
  expect(result.stderr).not.toContain('bug in dag');
  return result;
}

type PlanJson = { summary: Record<string, number>; processors: { partitions: { reasons?: { kind: string }[] }[] }[]; warnings: string[] };
async function plan(): Promise<{ json: PlanJson; stderr: string }> {
  const r = await dag('plan', '--range', RANGE, '--json');
  expect(r.code, r.stderr).toBe(0);
  return { json: JSON.parse(r.stdout) as PlanJson, stderr: r.stderr };
}
async function run(): Promise<number> {
  const r = await dag('run', '--range', RANGE, '--json');
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { totals: { built: number } }).totals.built;
}
const rename = (name: string, sql?: string) => writeFileSync(join(dir, 'pipeline.yaml'), yaml(server.url, name, sql));
const rows = async (sql: string) => (await server.exec(sql)).rows;

describe('bigquery ledger identity', () => {
  it('a rename with unchanged code stays fresh, with a warning; with changed SQL it is code_changed and rebuilt under the new name', async () => {
    expect(await run()).toBe(3);
    rename('NEW');
    const same = await plan();
    expect(same.json.summary).toMatchObject({ fresh: 3, build: 0 });
    expect(same.stderr).toContain(`table derived.doubled (processor NEW) has ledger rows recorded under 'OLD'`);
    expect(same.json.warnings).toHaveLength(1);

    rename('NEW', 'tripled.sql');
    const changed = await plan();
    expect(changed.json.summary).toMatchObject({ stale: 3, build: 3 });
    expect(changed.json.processors[0]?.partitions.map((p) => p.reasons?.map((r) => r.kind))).toEqual([['code_changed'], ['code_changed'], ['code_changed']]);
    expect(await run()).toBe(3);
    const after = await plan();
    expect(after.json.summary).toMatchObject({ fresh: 3, build: 0 });
    expect(after.json.warnings).toEqual([]);
    expect(await rows(`SELECT DISTINCT processor, table_name FROM \`${PROJECT}._dag.partitions\` WHERE processor = 'NEW'`)).toEqual([
      ['NEW', 'derived.doubled'],
    ]);
  });
});

describe('bigquery ledger versions', () => {
  it('a ledger from before version 2: plan reads it by name, run migrates it (meta and table_name) and builds nothing', async () => {
    expect(await run()).toBe(3);
    await server.exec(`ALTER TABLE \`${PROJECT}._dag.partitions\` DROP COLUMN table_name; DROP TABLE \`${PROJECT}._dag.meta\``);
    const old = await plan();
    expect(old.json.summary).toMatchObject({ fresh: 3, build: 0 });
    expect(old.stderr).toContain(`the ledger of target 'bq' is version 1`);
    expect(await run()).toBe(0);
    expect(await rows(`SELECT value FROM \`${PROJECT}._dag.meta\` WHERE key = 'schema_version'`)).toEqual([['3']]);
    expect(await rows(`SELECT DISTINCT table_name FROM \`${PROJECT}._dag.partitions\``)).toEqual([['derived.doubled']]);
    const after = await plan();
    expect(after.stderr).not.toContain('warning');
  });

  it('a newer version and a dropped column are refused, exit 2, naming the table and column', async () => {
    expect(await run()).toBe(3);
    await server.exec(`UPDATE \`${PROJECT}._dag.meta\` SET value = '99' WHERE key = 'schema_version'`);
    const newer = await dag('plan', '--range', RANGE);
    expect(newer.code).toBe(2);
    expect(newer.stderr).toContain(`the ledger of target 'bq' (dataset ${PROJECT}._dag) is version 99, newer than this dag understands (3)`);
    const refusedRun = await dag('run', '--range', RANGE);
    expect(refusedRun.code).toBe(2);
    expect(refusedRun.stderr).toContain('is version 99');

    await server.exec(`UPDATE \`${PROJECT}._dag.meta\` SET value = '3' WHERE TRUE; ALTER TABLE \`${PROJECT}._dag.partitions\` DROP COLUMN run_id`);
    const damaged = await dag('plan', '--range', RANGE);
    expect(damaged.code).toBe(2);
    expect(damaged.stderr).toContain('is damaged: table _dag.partitions has no column run_id');
  });
});

describe('bigquery partition expiration', () => {
  it('reads partition_expiration_days into the inventory (absent when unset), also after ALTER TABLE SET OPTIONS', async () => {
    const { pipeline, dir: other } = await loadTestPipeline(server, {
      'pipeline.yaml': `version: 1\nname: exp\ntargets:\n  bq: { type: bigquery, project: ${PROJECT}, location: US, api_endpoint: "${server.url}" }\ndefault_target: bq\ndefaults: { partition_column: game_date }\nsources:\n  games: { table: raw.games }\n  schedule: { table: raw.schedule }\n`,
    });
    try {
      await server.exec(
        `CREATE TABLE \`${PROJECT}.raw.schedule\` (game_date DATE) PARTITION BY game_date OPTIONS (partition_expiration_days = 30); INSERT INTO \`${PROJECT}.raw.schedule\` VALUES (DATE '2021-11-01')`,
      );
      const warehouse = await openTestWarehouse(pipeline);
      const first = await warehouse.readSnapshot(pipeline, ['games', 'schedule']);
      expect(first.tables.get('schedule')?.expirationDays).toBe(30);
      expect(first.tables.get('schedule')?.partitions.get(day('2021-11-01'))?.rows).toBe(1);
      expect(first.tables.get('games')?.expirationDays).toBeUndefined();
      await server.exec(`ALTER TABLE \`${PROJECT}.raw.games\` SET OPTIONS (partition_expiration_days = 7.5)`);
      expect((await warehouse.readSnapshot(pipeline, ['games'])).tables.get('games')?.expirationDays).toBe(7.5);
      await warehouse.close();
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
