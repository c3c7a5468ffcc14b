/**
 * Schema changes (DESIGN §8) on the BigQuery target through the real CLI and test/bq-server: the shared
 * scenarios (support/schema-scenarios.ts, also run on DuckDB), and the server rejecting what BigQuery
 * rejects, so the adapter cannot lean on DuckDB's leniency (positional inserts, silent casts).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBqServer, type BqServer } from './bq-server/server.js';
import { runDag, tempProject } from './support/cli.js';
import { schemaChangeScenarios, type SchemaProject, type SchemaTarget } from './support/schema-scenarios.js';

const P = 'test-project';
const env = { METADATA_SERVER_DETECTION: 'none', GOOGLE_APPLICATION_CREDENTIALS: undefined };
const head = (endpoint: string) => `version: 1
name: schema
targets:
  bq: { type: bigquery, project: ${P}, location: US, api_endpoint: "${endpoint}" }
default_target: bq
defaults: { partition_column: d, batch_size: 31, retries: 0 }
sources:
  src: { table: raw.src }
`;

const servers: BqServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const text = (rows: readonly (string | null)[][]) => rows.map((r) => r.map((v) => (v === null ? null : String(v))));

async function bigqueryProject(processors: string, files: Readonly<Record<string, string>>, days: number): Promise<SchemaProject> {
  const server = await startBqServer();
  servers.push(server);
  const dir = tempProject({ 'pipeline.yaml': head(server.url) + processors, ...files }, 'dag-bq-schema-');
  dirs.push(dir);
  const values = Array.from({ length: days }, (_, i) =>
    Array.from({ length: (i % 3) + 1 }, (_, k) => `(DATE '2021-11-${String(i + 1).padStart(2, '0')}', ${k}, 'p${k}')`),
  ).flat();
  await server.exec(
    `CREATE SCHEMA \`${P}.raw\`; CREATE TABLE \`${P}.raw.src\` (d DATE, id INT64, payload STRING) PARTITION BY d; INSERT INTO \`${P}.raw.src\` VALUES ${values.join(', ')}`,
  );
  return {
    dir,
    dag: (args) => runDag(args, { cwd: dir, env, timeoutMs: 90_000 }),
    columns: async (table) => {
      const [dataset, name] = table.split('.');
      const result = await server.exec(
        `SELECT column_name, data_type FROM \`${P}.${dataset}.INFORMATION_SCHEMA.COLUMNS\` WHERE table_name = '${name}' ORDER BY ordinal_position`,
      );
      return text(result.rows).map((r) => [r[0] ?? '', r[1] ?? '']);
    },
    values: async (table, columns) => {
      const result = await server.exec(
        `SELECT CAST(d AS STRING), ${columns.map((c) => `CAST(\`${c}\` AS STRING)`).join(', ')} FROM \`${P}.${table}\` ORDER BY d`,
      );
      return new Map(text(result.rows).map(([d, ...rest]) => [d ?? '', rest]));
    },
    ledgerDays: async (processor) => {
      const result = await server.exec(
        `SELECT DISTINCT CAST(partition_date AS STRING) FROM \`${P}._dag.partitions\` WHERE processor = '${processor}' ORDER BY 1`,
      );
      return text(result.rows).map((r) => r[0] ?? '');
    },
    setProcessors: (yaml) => writeFileSync(join(dir, 'pipeline.yaml'), head(server.url) + yaml),
  };
}

const bigquery: SchemaTarget = {
  name: 'BigQuery',
  types: { int: 'INT64', float: 'FLOAT64', text: 'STRING' },
  dateToTimestamp: false,
  project: bigqueryProject,
  cleanup: async () => undefined,
};

schemaChangeScenarios(bigquery);

describe('the loopback server is as strict as BigQuery about schemas', () => {
  let server: BqServer;
  beforeEach(async () => {
    server = await startBqServer();
    await server.exec(
      `CREATE SCHEMA \`${P}.d\`; CREATE TABLE \`${P}.d.t\` (day DATE, a INT64, b INT64, s STRING) PARTITION BY day; INSERT INTO \`${P}.d.t\` VALUES (DATE '2021-11-01', 1, 2, 'x')`,
    );
  });
  afterEach(async () => {
    await server.close();
  });
  const t = `\`${P}.d.t\``;
  const rejects = (sql: string, message: RegExp) => expect(server.exec(sql)).rejects.toThrow(message);

  it('rejects a positional INSERT ... SELECT whose columns do not match the table in number or type', async () => {
    await rejects(`INSERT INTO ${t} SELECT DATE '2021-11-02', 1, 2`, /Inserted row has wrong column count; Has 3, 4 are required/);
    await rejects(
      `INSERT INTO ${t} SELECT DATE '2021-11-02', 'one', 2, 'x'`,
      /Query column 2 has type STRING which cannot be inserted into column a, which has type INT64/,
    );
    await rejects(
      `INSERT INTO ${t} (day, a) SELECT DATE '2021-11-02', CAST(0.5 AS FLOAT64)`,
      /Query column 2 has type FLOAT64 which cannot be inserted into column a, which has type INT64/,
    );
    await rejects(`INSERT INTO ${t} (day, nope) SELECT DATE '2021-11-02', 1`, /Column nope is not present in table d\.t/);
    // What BigQuery coerces is accepted; listed columns are filled by name, the others NULL.
    await server.exec(`INSERT INTO ${t} (b, day) SELECT 7, DATE '2021-11-03'`);
    expect((await server.exec(`SELECT a, b FROM ${t} WHERE day = DATE '2021-11-03'`)).rows).toEqual([[null, '7']]);
  });

  it('ALTER TABLE adds columns and changes a type only to one it coerces to, never the partitioning column', async () => {
    await server.exec(`ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS c STRING, ADD COLUMN IF NOT EXISTS a INT64`);
    await rejects(`ALTER TABLE ${t} ADD COLUMN c STRING`, /Column already exists: c/);
    await server.exec(`ALTER TABLE ${t} ALTER COLUMN a SET DATA TYPE FLOAT64`);
    await rejects(`ALTER TABLE ${t} ALTER COLUMN a SET DATA TYPE INT64`, /existing column type \(FLOAT64\) is assignable to the new type \(INT64\)/);
    await rejects(`ALTER TABLE ${t} ALTER COLUMN s SET DATA TYPE INT64`, /existing column type \(STRING\) is assignable/);
    await rejects(`ALTER TABLE ${t} ALTER COLUMN day SET DATA TYPE TIMESTAMP`, /cannot change the partitioning column day/);
    const columns = await server.exec(
      `SELECT column_name, data_type FROM \`${P}.d.INFORMATION_SCHEMA.COLUMNS\` WHERE table_name = 't' ORDER BY ordinal_position`,
    );
    expect(columns.rows).toEqual([
      ['day', 'DATE'],
      ['a', 'FLOAT64'],
      ['b', 'INT64'],
      ['s', 'STRING'],
      ['c', 'STRING'],
    ]);
    expect((await server.exec(`SELECT a FROM ${t}`)).rows).toEqual([['1']]);
  });

  it('refuses DDL on a permanent table inside a transaction; DROP TABLE removes the table and its partitions', async () => {
    await rejects(
      `BEGIN TRANSACTION; ALTER TABLE ${t} ADD COLUMN c STRING; COMMIT TRANSACTION`,
      /Transactions cannot use DDL statements that affect permanent entities/,
    );
    await rejects(`BEGIN TRANSACTION; DROP TABLE ${t}; COMMIT TRANSACTION`, /Transactions cannot use DDL/);
    await server.exec(`DROP TABLE IF EXISTS ${t}`);
    expect((await server.exec(`SELECT count(*) FROM \`${P}.d.INFORMATION_SCHEMA.PARTITIONS\``)).rows).toEqual([['0']]);
    expect((await server.exec(`SELECT count(*) FROM \`${P}.d.INFORMATION_SCHEMA.TABLES\``)).rows).toEqual([['0']]);
  });
});
