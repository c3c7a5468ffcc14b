/**
 * Live tests against real BigQuery: run only when DAG_BQ_PROJECT is set and credentials are available
 * (GOOGLE_APPLICATION_CREDENTIALS, or DAG_BQ_ADC=1 to trust Application Default Credentials). They
 * create a scratch dataset `dag_test_<random>` (and `<it>_dag` for the ledger), and drop both after.
 * Otherwise they are reported as skipped, with the reason in the test name.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { BigQuery } from '@google-cloud/bigquery';
import { loadPipeline } from '../src/config/load.js';
import { openBigquery } from '../src/warehouse/bigquery/index.js';
import { tempProject } from './support/cli.js';
import { batchJob, day } from './bigquery-helpers.js';
import { sqlBatch } from './support/batches.js';

const project = process.env.DAG_BQ_PROJECT;
const hasCredentials = Boolean(process.env.GOOGLE_APPLICATION_CREDENTIALS) || process.env.DAG_BQ_ADC === '1';
const location = process.env.DAG_BQ_LOCATION ?? 'US';
const skipReason = !project ? 'DAG_BQ_PROJECT is not set' : !hasCredentials ? 'no credentials (set GOOGLE_APPLICATION_CREDENTIALS or DAG_BQ_ADC=1)' : '';
const dataset = `dag_test_${randomBytes(4).toString('hex')}`;

describe('bigquery live', () => {
  const client = project ? new BigQuery({ projectId: project, location }) : undefined;

  afterAll(async () => {
    if (skipReason || !client) return;
    for (const name of [dataset, `${dataset}_dag`])
      await client
        .dataset(name)
        .delete({ force: true })
        .catch(() => undefined);
  });

  it.skipIf(Boolean(skipReason))(`snapshot, batch and ledger on real BigQuery${skipReason ? ` (skipped: ${skipReason})` : ''}`, async () => {
    if (!client || !project) return;
    await client.query({
      query: `CREATE SCHEMA \`${project}.${dataset}\`; CREATE TABLE \`${project}.${dataset}.games\` PARTITION BY game_date AS SELECT DATE '2021-11-01' AS game_date, 'A' AS team, 100 AS points UNION ALL SELECT DATE '2021-11-02', 'B', 90`,
      location,
    });
    const dir = tempProject({
      'pipeline.yaml': `version: 1
name: live
targets:
  bq: { type: bigquery, project: ${project}, location: ${location}, ledger_dataset: ${dataset}_dag, maximum_bytes_billed: 1000000000 }
default_target: bq
defaults: { partition_column: game_date }
sources:
  games: { table: ${dataset}.games }
processors:
  DOUBLED:
    table: ${dataset}.doubled
    upstream: [games]
    sql: doubled.sql
`,
      'doubled.sql': "SELECT game_date, team, points * 2 AS points FROM {{ ref('games') }} WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }}\n",
    });
    const loaded = await loadPipeline({ cwd: dir });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
    const target = loaded.pipeline.targets.get('bq');
    if (target?.type !== 'bigquery') throw new Error('no target');
    const warehouse = await openBigquery(target, { env: {}, readOnly: false });
    const before = await warehouse.readSnapshot(loaded.pipeline, ['games', 'DOUBLED']);
    expect(before.tables.get('games')?.partitions.get(day('2021-11-01'))?.rows).toBe(1);
    expect(await warehouse.estimateBytes(batchJob(loaded.pipeline, 'DOUBLED', ['2021-11-01', '2021-11-02']))).toBeGreaterThanOrEqual(0);
    const outcome = await sqlBatch(warehouse, batchJob(loaded.pipeline, 'DOUBLED', ['2021-11-01', '2021-11-02']), new AbortController().signal);
    expect(outcome.ok).toBe(true);
    const after = await warehouse.readSnapshot(loaded.pipeline, ['games', 'DOUBLED']);
    expect(after.ledger.get('DOUBLED')?.size).toBe(2);
    expect(after.tables.get('DOUBLED')?.partitions.size).toBe(2);
  });
});
