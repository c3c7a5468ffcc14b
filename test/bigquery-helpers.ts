/**
 * Shared set-up for the BigQuery adapter tests: a loopback server, a pipeline loaded from real YAML
 * pointing at it, and small helpers to seed source partitions and read the server's request log.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPipeline } from '../src/config/load.js';
import { parseIsoDate, type Day } from '../src/core/dates.js';
import type { Pipeline } from '../src/core/model.js';
import { openBigquery } from '../src/warehouse/bigquery/index.js';
import type { Warehouse } from '../src/warehouse/port.js';
import { tempProject } from './support/cli.js';
import { startBqServer, type BqServer, type LoggedRequest } from './bq-server/server.js';
import type { TestJob } from './support/batches.js';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

// The client must not probe a metadata server; tests never reach Google.
process.env.METADATA_SERVER_DETECTION = 'none';

export const PROJECT = 'test-project';

export const PIPELINE_YAML = (endpoint: string, extra = '') => `version: 1
name: bqtest
targets:
  bq: { type: bigquery, project: ${PROJECT}, location: US, api_endpoint: "${endpoint}", labels: { team: data }${extra} }
default_target: bq
defaults: { partition_column: game_date, batch_size: 31, timeout: 60s, retries: 2, concurrency: 2 }
sources:
  games: { table: raw.games }
processors:
  DOUBLED:
    table: derived.doubled
    upstream: [games]
    sql: sql/doubled.sql
  SUMMED:
    table: derived.summed
    upstream: [DOUBLED]
    sql: sql/summed.sql
  EXTERNAL:
    table: other.external
    upstream: [games]
    command: [node, write.js, "{start}", "{end}"]
`;

export const DOUBLED_SQL = `SELECT game_date, team, points * 2 AS points
FROM {{ ref('games') }}
WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }};
-- trailing comment
`;

export const SUMMED_SQL = `SELECT game_date, SUM(points) AS total
FROM {{ ref('DOUBLED') }}
WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }}
GROUP BY game_date
`;

export async function loadTestPipeline(server: BqServer, files: Record<string, string> = {}, extra = ''): Promise<{ pipeline: Pipeline; dir: string }> {
  const dir = tempProject({
    'pipeline.yaml': PIPELINE_YAML(server.url, extra),
    'sql/doubled.sql': DOUBLED_SQL,
    'sql/summed.sql': SUMMED_SQL,
    ...files,
  });
  const outcome = await loadPipeline({ cwd: dir });
  if (!outcome.ok) throw new Error(`test pipeline invalid: ${JSON.stringify(outcome.diagnostics)}`);
  return { pipeline: outcome.pipeline, dir };
}

export function rewrite(dir: string, path: string, text: string): void {
  writeFileSync(join(dir, path), text);
}

export async function openTestWarehouse(pipeline: Pipeline): Promise<Warehouse> {
  const target = pipeline.targets.get('bq');
  if (target?.type !== 'bigquery') throw new Error('no bq target');
  return openBigquery(target, { env: {}, readOnly: false });
}

export function day(iso: string): Day {
  const d = parseIsoDate(iso);
  if (d === undefined) throw new Error(`bad date ${iso}`);
  return d;
}

/** Creates raw.games and fills the given dates with two rows each. */
export async function seedGames(server: BqServer, dates: readonly string[]): Promise<void> {
  await server.exec(
    'CREATE SCHEMA IF NOT EXISTS `test-project.raw`; CREATE TABLE IF NOT EXISTS `test-project.raw.games` (game_date DATE, team STRING, points INT64) PARTITION BY game_date',
  );
  if (dates.length === 0) return;
  const values = dates.flatMap((d, i) => [`(DATE '${d}', 'A', ${100 + i})`, `(DATE '${d}', 'B', ${90 + i})`]).join(', ');
  await server.exec(`INSERT INTO \`test-project.raw.games\` VALUES ${values}`);
}

export function batchJob(pipeline: Pipeline, processorName: string, dates: readonly string[], runId = 'run-1', builtAt = Date.now() + 1000): TestJob {
  const processor = pipeline.processors.find((p) => p.name === processorName);
  if (!processor) throw new Error(`no processor ${processorName}`);
  const days = dates.map(day);
  return {
    pipeline,
    processor,
    batch: { start: days[0] ?? 0, end: days[days.length - 1] ?? 0, days },
    runId,
    builtAt,
    codeFingerprint: 'code-fp',
    inputFingerprints: new Map(days.map((d) => [d, `input-${d}`])),
  };
}

/** jobs.insert requests (dry runs included), in order. */
export function jobInserts(
  log: readonly LoggedRequest[],
): { query: string; location: string | undefined; labels: Record<string, string>; dryRun: boolean; body: Record<string, unknown> }[] {
  return log
    .filter((r) => r.method === 'POST' && /^\/projects\/[^/]+\/jobs$/.test(r.path))
    .map((r) => {
      const body = r.body as {
        jobReference?: { location?: string };
        configuration?: { query?: { query?: string }; labels?: Record<string, string>; dryRun?: boolean };
      };
      return {
        query: body.configuration?.query?.query ?? '',
        location: body.jobReference?.location,
        labels: body.configuration?.labels ?? {},
        dryRun: Boolean(body.configuration?.dryRun),
        body: body as Record<string, unknown>,
      };
    });
}

/** A fresh dataset layout on a shared server: drops what earlier tests wrote (datasets and metadata), faults and the log. */
export async function resetServer(server: BqServer): Promise<void> {
  await server.exec(
    'DROP SCHEMA IF EXISTS `test-project.raw` CASCADE; DROP SCHEMA IF EXISTS `test-project.derived` CASCADE; DROP SCHEMA IF EXISTS `test-project._dag` CASCADE; DROP SCHEMA IF EXISTS `test-project.other` CASCADE',
  );
  await server.exec('DELETE FROM __bq.partition_state WHERE TRUE; DELETE FROM __bq.partitioning WHERE TRUE; DELETE FROM __bq.stream_buffer WHERE TRUE');
  server.log.length = 0;
  server.faults.length = 0;
}

/** One server for the file, and per test a fresh layout, the test pipeline and a warehouse on it (closed after). */
export function serverPerFile(): { readonly server: BqServer; readonly pipeline: Pipeline; readonly warehouse: Warehouse } {
  const state = {} as { server: BqServer; pipeline: Pipeline; warehouse: Warehouse };
  beforeAll(async () => void (state.server = await startBqServer()));
  afterAll(() => state.server.close());
  beforeEach(async () => {
    await resetServer(state.server);
    ({ pipeline: state.pipeline } = await loadTestPipeline(state.server));
    state.warehouse = await openTestWarehouse(state.pipeline);
  });
  afterEach(() => state.warehouse.close());
  return state;
}

/** A loopback server for the whole test file (started before, closed after), and temp folders removed after it. */
export function serverForFile(): { readonly server: () => BqServer; readonly dirs: string[] } {
  let server: BqServer | undefined;
  const dirs: string[] = [];
  beforeAll(async () => {
    server = await startBqServer();
  });
  afterAll(async () => {
    await server?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  return {
    server: () => {
      if (!server) throw new Error('the test server is not started yet');
      return server;
    },
    dirs,
  };
}
