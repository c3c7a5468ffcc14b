/**
 * Data checks on BigQuery, through the real CLI and the loopback server (DESIGN §9): the checks run
 * inside the batch's script, after the rows are staged and before the transaction; an error check
 * fails one day of a 7-day batch (6 committed, 1 not, its reader blocked), a warn check commits and
 * is recorded, a check that does not compile fails the processor once, and a command processor's
 * failing day keeps its unfinished marker.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBqServer, type BqServer } from './bq-server/server.js';
import { PROJECT, seedGames } from './bigquery-helpers.js';
import { parseRunJson, processorOf } from './fixtures/run/project.js';
import { looksLikeStackTrace, runDag, tempProject, type DagResult } from './support/cli.js';

const DATES = Array.from({ length: 7 }, (_, i) => `2021-11-0${i + 1}`);
const RANGE = '2021-11-01..2021-11-07';
const env = { METADATA_SERVER_DETECTION: 'none', GOOGLE_APPLICATION_CREDENTIALS: undefined };

const yaml = (endpoint: string) => `version: 1
name: bqchecks
targets:
  bq: { type: bigquery, project: ${PROJECT}, location: US, api_endpoint: "${endpoint}" }
default_target: bq
defaults: { partition_column: game_date, retries: 0, batch_size: 7 }
sources:
  games: { table: raw.games }
processors:
  DOUBLED:
    table: derived.doubled
    upstream: [games]
    sql: doubled.sql
    checks:
      - not_null: [team]
      - unique: [team]
      - row_count: { min: 2, max: 2 }
      - relationships: { column: team, to: games, field: team }
      - accepted_values: { column: team, values: [A] }
        severity: warn
      - sql: checks/points.sql
  SUMMED:
    table: derived.summed
    upstream: [DOUBLED]
    sql: summed.sql
  BROKEN:
    table: derived.broken
    upstream: [games]
    sql: summed_games.sql
    checks:
      - sql: checks/broken.sql
  EXTERNAL:
    table: other.external
    upstream: [games]
    command: [node, write.js]
    checks:
      - sql: checks/external.sql
`;

const FILES = {
  // team NULL on 2021-11-03: not_null fails that day only.
  'doubled.sql':
    "SELECT game_date, CASE WHEN game_date = DATE '2021-11-03' THEN NULL ELSE team END AS team, points * 2 AS points FROM {{ ref('games') }} WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }}\n",
  'summed.sql':
    "SELECT game_date, SUM(points) AS total FROM {{ ref('DOUBLED') }} WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }} GROUP BY game_date\n",
  'summed_games.sql':
    "SELECT game_date, SUM(points) AS total FROM {{ ref('games') }} WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }} GROUP BY game_date\n",
  'checks/broken.sql': 'SELECT game_date, no_such_column FROM {{ this }}\n',
  'checks/points.sql': 'SELECT game_date, points FROM {{ this }} WHERE points < 0\n',
  'checks/external.sql': "SELECT game_date, n FROM {{ this }} WHERE game_date = DATE '2021-11-05'\n",
  // The command does not write at all; its table is made by the test (a command writes with its own credentials).
  'write.js': '\n',
};

let server: BqServer;
let dir = '';
beforeAll(async () => {
  server = await startBqServer();
  await seedGames(server, DATES);
  const values = DATES.map((d) => `(DATE '${d}', 1)`).join(', ');
  await server.exec(
    `CREATE SCHEMA IF NOT EXISTS \`${PROJECT}.other\`; CREATE TABLE \`${PROJECT}.other.external\` (game_date DATE, n INT64) PARTITION BY game_date; INSERT INTO \`${PROJECT}.other.external\` VALUES ${values}`,
  );
  dir = tempProject({ 'pipeline.yaml': yaml(server.url), ...FILES });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function dag(...args: string[]): Promise<DagResult> {
  const result = await runDag(args, { cwd: dir, env });
  expect(looksLikeStackTrace(result.stderr + result.stdout), result.stderr).toBe(false);
  return result;
}
const rows = async (sql: string) => (await server.exec(sql)).rows;

describe('data checks on BigQuery', () => {
  it('gate the commit inside the script: 6 of 7 days committed, the failing day and its reader not; warn recorded; a broken check fails once; a command keeps its marker', async () => {
    const run = await dag('run', '--range', RANGE, '--json');
    expect(run.code, run.stderr + run.stdout).toBe(1);
    const json = parseRunJson(run);
    const doubled = processorOf(json, 'DOUBLED');
    expect(doubled.built).toEqual(DATES.filter((d) => d !== '2021-11-03'));
    expect(doubled.failed).toEqual([expect.objectContaining({ date: '2021-11-03', category: 'CHECK_FAILED' })]);
    expect(doubled.failed[0]?.message).toContain('check not_null(team) found 2 offending rows, e.g. {"game_date":"2021-11-03","team":null,');
    expect(processorOf(json, 'SUMMED').upstream_failed).toEqual(['2021-11-03']);
    // Nothing of 2021-11-03 reached the table or the ledger.
    expect(await rows(`SELECT CAST(game_date AS STRING), COUNT(*) FROM \`${PROJECT}.derived.doubled\` GROUP BY 1 ORDER BY 1`)).toEqual(
      DATES.filter((d) => d !== '2021-11-03').map((d) => [d, '2']),
    );
    expect(await rows(`SELECT COUNT(*) FROM \`${PROJECT}._dag.partitions\` WHERE processor = 'DOUBLED' AND partition_date = DATE '2021-11-03'`)).toEqual([
      ['0'],
    ]);
    // Both severities are in _dag.checks: the error of 11-03, and the warn (team B is not accepted) of every day.
    const findings = await rows(
      `SELECT CAST(partition_date AS STRING), check_name, severity, offending_rows FROM \`${PROJECT}._dag.checks\` WHERE processor = 'DOUBLED' ORDER BY 1, 2`,
    );
    // (The two NULL teams of 11-03 are also one duplicated key: unique groups NULLs as BigQuery does.)
    expect(findings.filter((f) => f[2] === 'error')).toEqual([
      ['2021-11-03', 'not_null(team)', 'error', '2'],
      ['2021-11-03', 'unique(team)', 'error', '1'],
    ]);
    expect(findings.filter((f) => f[2] === 'warn').map((f) => f[0])).toEqual(DATES.filter((d) => d !== '2021-11-03'));
    expect(run.stderr + run.stdout).toContain('check accepted_values(team) found 1 offending row');

    const broken = processorOf(json, 'BROKEN');
    expect(broken.built).toEqual([]);
    expect(new Set(broken.failed.map((f) => f.category))).toEqual(new Set(['PROCESSOR_ERROR']));

    // The command's table was there before dag (taken as built outside it): force the rebuild.
    const forced = await dag('run', '--range', RANGE, '--select', 'EXTERNAL', '--force', '--json');
    expect(forced.code).toBe(1);
    const external = processorOf(parseRunJson(forced), 'EXTERNAL');
    expect(external.built, JSON.stringify(external.failed)).toEqual(DATES.filter((d) => d !== '2021-11-05'));
    expect(external.failed).toEqual([expect.objectContaining({ date: '2021-11-05', category: 'CHECK_FAILED' })]);
    const marker = await rows(
      `SELECT row_count, code_fingerprint FROM \`${PROJECT}._dag.partitions\` WHERE processor = 'EXTERNAL' AND partition_date = DATE '2021-11-05' ORDER BY built_at DESC LIMIT 1`,
    );
    expect(marker).toEqual([['-1', `unfinished:${parseRunJson(forced).run_id}`]]);

    const plan = JSON.parse((await dag('plan', '--range', RANGE, '--json')).stdout) as {
      processors: { name: string; partitions: { date: string; action: string }[] }[];
    };
    expect(plan.processors.find((p) => p.name === 'DOUBLED')?.partitions.map((p) => `${p.date} ${p.action}`)).toEqual(['2021-11-03 build']);
    expect(plan.processors.find((p) => p.name === 'EXTERNAL')?.partitions.map((p) => `${p.date} ${p.action}`)).toEqual(['2021-11-05 build']);
  });
});
