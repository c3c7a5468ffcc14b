/**
 * A command processor on BigQuery writes its partitions itself (here through the loopback server's
 * jobs.query), and dag writes the ledger only after the command exits 0. A command that wrote rows and
 * then failed, or whose dag was killed before the ledger write, must not leave partitions the next plan
 * takes as fresh external data (judged by last_modified_time, which its own write just moved): they are
 * rebuilt, and afterwards the data and the latest ledger rows agree partition by partition.
 */
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBqServer, type BqServer } from './bq-server/server.js';
import { looksLikeStackTrace, runDag, tempProject, type DagResult } from './support/cli.js';

const P = 'test-project';
const env = { METADATA_SERVER_DETECTION: 'none', GOOGLE_APPLICATION_CREDENTIALS: undefined };
const isoDay = (i: number) => new Date(Date.UTC(2021, 10, 1 + i)).toISOString().slice(0, 10);
const sourceRows = (i: number) => (i % 3) + 1;
const RANGE = `${isoDay(0)}..${isoDay(3)}`;
const ALL = [0, 1, 2, 3].map(isoDay);

const pipelineYaml = (endpoint: string) => `version: 1
name: bqcmd
targets:
  bq: { type: bigquery, project: ${P}, location: US, api_endpoint: "${endpoint}" }
default_target: bq
defaults: { partition_column: d, batch_size: 1, retries: 0, concurrency: 1 }
sources:
  src: { table: raw.src }
processors:
  CMD:
    table: p.cmd
    upstream: [src]
    command: [node, jobs/cmd.mjs, "${endpoint}"]
  DOWN:
    table: p.down
    upstream: [CMD]
    sql: sql/down.sql
`;

/**
 * Copies raw.src into p.cmd for its days with one jobs.query request (the server URL is argv[2]); one
 * batch at a time (concurrency: 1), because two scripts' DELETEs on one table abort each other. If
 * the file `crash` exists the first invocation removes it, writes its day, and then exits 1 ("exit")
 * or kills dag with SIGKILL ("kill"): a command that fails, or a dag that dies, after writing.
 */
const script = `import { existsSync, readFileSync, unlinkSync } from 'node:fs';
const crash = existsSync('crash') ? readFileSync('crash', 'utf8').trim() : '';
if (crash) unlinkSync('crash');
const { DAG_BQ_PROJECT: project, DAG_BQ_LOCATION: location, DAG_START_DATE: from, DAG_END_DATE: to } = process.env;
const table = \`\\\`\${project}.p.cmd\\\`\`;
const query = [
  \`CREATE SCHEMA IF NOT EXISTS \\\`\${project}.p\\\`;\`,
  \`CREATE TABLE IF NOT EXISTS \${table} (d DATE, id INT64, payload STRING) PARTITION BY d;\`,
  \`DELETE FROM \${table} WHERE d BETWEEN DATE '\${from}' AND DATE '\${to}';\`,
  \`INSERT INTO \${table} SELECT d, id, payload FROM \\\`\${project}.raw.src\\\` WHERE d BETWEEN DATE '\${from}' AND DATE '\${to}';\`,
].join('\\n');
const response = await fetch(\`\${process.argv[2]}/bigquery/v2/projects/\${project}/queries\`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ query, location, useLegacySql: false, timeoutMs: 30000 }),
});
const body = await response.json();
if (!response.ok || !body.jobComplete) {
  console.error('insert failed', JSON.stringify(body));
  process.exit(2);
}
if (crash === 'kill') process.kill(process.ppid, 'SIGKILL');
if (crash) process.exit(1);
`;

const downSql = `SELECT d, id, payload FROM {{ ref('CMD') }} WHERE d BETWEEN {{ start_date }} AND {{ end_date }}\n`;

let server: BqServer;

beforeAll(async () => {
  server = await startBqServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  await server.exec(`DROP SCHEMA IF EXISTS \`${P}.raw\` CASCADE; DROP SCHEMA IF EXISTS \`${P}.p\` CASCADE; DROP SCHEMA IF EXISTS \`${P}._dag\` CASCADE`);
  await server.exec('DELETE FROM __bq.partition_state WHERE TRUE; DELETE FROM __bq.partitioning WHERE TRUE');
  const values = [0, 1, 2, 3].flatMap((i) => Array.from({ length: sourceRows(i) }, (_, k) => `(DATE '${isoDay(i)}', ${k}, '${isoDay(i)}#${k}')`)).join(', ');
  await server.exec(
    `CREATE SCHEMA \`${P}.raw\`; CREATE TABLE \`${P}.raw.src\` (d DATE, id INT64, payload STRING) PARTITION BY d; INSERT INTO \`${P}.raw.src\` VALUES ${values}`,
  );
});

async function dag(dir: string, args: readonly string[]): Promise<DagResult> {
  const result = await runDag(args, { cwd: dir, env, timeoutMs: 60_000 });
  expect(looksLikeStackTrace(result.stderr + result.stdout), result.stderr).toBe(false);
  return result;
}

async function countsByDay(table: string): Promise<Map<string, number>> {
  const result = await server.exec(`SELECT CAST(d AS STRING) AS day, COUNT(*) AS n FROM \`${P}.${table}\` GROUP BY 1`);
  return new Map(result.rows.map(([d, n]) => [String(d), Number(n)]));
}

/** The latest ledger row per partition, as dag's snapshot reads it (rows only). */
async function ledgerByDay(processor: string): Promise<Map<string, number>> {
  const result = await server.exec(
    `SELECT CAST(partition_date AS STRING) AS day, row_count FROM \`${P}._dag.partitions\` WHERE processor = '${processor}'
     QUALIFY ROW_NUMBER() OVER (PARTITION BY processor, partition_date ORDER BY built_at DESC, run_id DESC) = 1`,
  );
  return new Map(result.rows.map(([d, n]) => [String(d), Number(n)]));
}

type RunJson = { totals: { built: number }; processors: { name: string; built: string[]; failed: { date: string; category: string }[] }[] };
type PlanJson = { processors: { name: string; partitions: { date: string; action: string }[] }[] };

describe('a BigQuery command batch that wrote rows but did not finish', () => {
  for (const how of ['exit', 'kill'] as const) {
    it(`(${how === 'exit' ? 'it exited 1' : 'dag was killed -9'}) is rebuilt by the next plan and run, never taken as fresh`, async () => {
      const dir = tempProject({ 'pipeline.yaml': pipelineYaml(server.url), 'jobs/cmd.mjs': script, 'sql/down.sql': downSql }, 'dag-bqcmd-');
      writeFileSync(join(dir, 'crash'), how);
      const first = await dag(dir, ['run', '--range', RANGE, '--json']);
      if (how === 'exit') {
        expect(first.code, first.stderr).toBe(1);
        const cmd = (JSON.parse(first.stdout) as RunJson).processors.find((p) => p.name === 'CMD');
        expect(cmd?.failed.map((f) => [f.date, f.category])).toEqual([[isoDay(0), 'PROCESSOR_ERROR']]);
      } else expect(first.code).toBeNull();
      expect(existsSync(join(dir, 'crash'))).toBe(false);
      // Day 0 has the rows the failed command wrote, but no finished batch recorded them.
      expect((await countsByDay('p.cmd')).get(isoDay(0))).toBe(sourceRows(0));

      const planned = await dag(dir, ['plan', '--range', RANGE, '--json']);
      expect(planned.code, planned.stderr).toBe(0);
      const plan = JSON.parse(planned.stdout) as PlanJson;
      const builds = (name: string) =>
        plan.processors
          .find((p) => p.name === name)
          ?.partitions.filter((p) => p.action === 'build')
          .map((p) => p.date);
      // Exit 1: the other days were built after it; kill: dag died on the first day.
      const expected = how === 'exit' ? [isoDay(0)] : ALL;
      expect(builds('CMD')).toEqual(expected);
      expect(builds('DOWN')).toEqual(expected);
      const explained = await dag(dir, ['explain', 'CMD', isoDay(0)]);
      // Exit 1 left a failure row (explain names it); a kill left only the unfinished marker.
      expect(explained.stdout).toMatch(
        how === 'exit'
          ? /its last build failed: PROCESSOR_ERROR in run \S+ .*what its command wrote is not trusted, so it is rebuilt/
          : /its command did not finish in run \S+ \(failed, timed out or killed\)/,
      );

      const rerun = await dag(dir, ['run', '--range', RANGE, '--json']);
      expect(rerun.code, rerun.stderr + rerun.stdout).toBe(0);
      expect((JSON.parse(rerun.stdout) as RunJson).processors.find((p) => p.name === 'CMD')?.built).toEqual(expected);
      for (const [processor, table] of [
        ['CMD', 'p.cmd'],
        ['DOWN', 'p.down'],
      ] as const)
        expect(await ledgerByDay(processor), `${processor}: ledger vs data`).toEqual(await countsByDay(table));
      expect([...(await ledgerByDay('CMD')).entries()].sort()).toEqual(ALL.map((d, i) => [d, sourceRows(i)]));
      const again = await dag(dir, ['run', '--range', RANGE, '--json']);
      expect((JSON.parse(again.stdout) as RunJson).totals.built).toBe(0);
      if (existsSync(join(dir, 'crash'))) unlinkSync(join(dir, 'crash'));
    });
  }
});
