/**
 * Failing well through the real CLI (DESIGN §5): the cost of one mistake is one job. A misspelt column
 * fails the processor once; one bad day of 31 is found by halving and the other 30 are built; identical
 * failures are one line with their dates in the summary and in --json, while the ledger keeps a row per
 * partition. And the classifiers: missing files and a full disk are never TRANSIENT.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classifyDuckdbError, duckdbFailure } from '../src/warehouse/duckdb/connection.js';
import { isDataIndependent, toFailure } from '../src/warehouse/bigquery/errors.js';
import { queryRows } from './support/duckdb.js';
import { isoDay, makeProject, parseRunJson, pipelineYaml, processorOf, type Project } from './fixtures/run/project.js';

const made: Project[] = [];
afterAll(() => {
  for (const project of made) rmSync(project.dir, { recursive: true, force: true });
});

const DAYS = 31;
const RANGE = `${isoDay(0)}..${isoDay(DAYS - 1)}`;

async function project(sql: string, batchSize: number): Promise<Project> {
  const yaml = pipelineYaml(`  A:
    table: p.a
    upstream: [src]
    sql: sql/a.sql
    batch_size: ${batchSize}
    concurrency: 4
`);
  const p = await makeProject(yaml, { 'sql/a.sql': sql }, DAYS);
  made.push(p);
  return p;
}

type Json = ReturnType<typeof parseRunJson> & { failures: { processor: string; category: string; count: number; dates: string[]; line: string }[] };

describe('failing well', () => {
  it('a misspelt column over 30 days: at most 2 jobs, one summary line, one --json group, a ledger row per partition', async () => {
    const p = await project("select d, id, payload from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }}\n", 7);
    // The table exists (a first day built), so nothing but the first-batch rule keeps batches apart.
    expect((await p.dag(['run', '--range', isoDay(0)])).code).toBe(0);
    writeFileSync(join(p.dir, 'sql', 'a.sql'), "select d, id, paylaod from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }}\n");
    const text = await p.dag(['run', '--range', `${isoDay(0)}..${isoDay(29)}`]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^ {2}A PROCESSOR_ERROR ×30 2021-11-01\.\.30: Binder Error: Referenced column "paylaod" not found/m);
    expect(text.stdout.match(/Binder Error/g)).toHaveLength(2); // the progress line and the summary line
    expect(text.stdout).toMatch(/^1 job, /m);
    const json = parseRunJson(await p.dag(['run', '--range', `${isoDay(0)}..${isoDay(29)}`, '--json'])) as Json;
    expect(json.totals.jobs).toBeLessThanOrEqual(2);
    expect(processorOf(json, 'A').failed).toHaveLength(30);
    expect(json.failures).toEqual([
      expect.objectContaining({
        processor: 'A',
        category: 'PROCESSOR_ERROR',
        count: 30,
        line: expect.stringMatching(/^PROCESSOR_ERROR ×30 2021-11-01\.\.30: Binder Error/),
      }),
    ]);
    const rows = await queryRows(p.db, `select count(*)::INTEGER as n from _dag.failures where run_id = '${json.run_id}'`);
    expect(rows).toEqual([{ n: 30 }]);
  });

  it('one bad day of 31: 30 built, at most 12 jobs; an error on every day: 3 jobs', async () => {
    const bad = await project(
      `select d, id, case when d = DATE '${isoDay(17)}' then error('bad row on ' || d) else payload end as payload from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }}\n`,
      31,
    );
    const json = parseRunJson(await bad.dag(['run', '--range', RANGE, '--json'])) as Json;
    expect(processorOf(json, 'A').built).toHaveLength(30);
    expect(processorOf(json, 'A').failed.map((f) => f.date)).toEqual([isoDay(17)]);
    expect(json.totals.jobs).toBeLessThanOrEqual(12);

    const everywhere = await project("select d, id, error('no') as payload from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }}\n", 31);
    const all = parseRunJson(await everywhere.dag(['run', '--range', RANGE, '--json'])) as Json;
    expect(all.totals.jobs).toBe(3);
    expect(processorOf(all, 'A').failed).toHaveLength(31);
    expect(all.failures.map((f) => [f.count, f.dates.length])).toEqual([[31, 31]]);
  });
});

describe('which errors are worth a retry, a split, or neither', () => {
  it('DuckDB: missing files, permissions and a full disk are data-independent, never TRANSIENT', () => {
    for (const message of [
      'IO Error: No files found that match the pattern "data/2021-11-01.parquet"',
      'IO Error: Cannot open file "x.csv": No such file or directory',
      'IO Error: Cannot open file "x.csv": Permission denied',
      'IO Error: Could not write file "/tmp/x": No space left on device',
      'Binder Error: Referenced column "scroe" not found in FROM clause!',
      'Catalog Error: Table with name nope does not exist!',
      'Parser Error: syntax error at or near "FORM"',
    ]) {
      const error = new Error(message);
      expect(classifyDuckdbError(error), message).toBe('PROCESSOR_ERROR');
      expect(duckdbFailure(error, message).dataIndependent, message).toBe(true);
    }
    expect(classifyDuckdbError(new Error('TransactionContext Error: Catalog write-write conflict'))).toBe('TRANSIENT');
    expect(duckdbFailure(new Error('Conversion Error: Could not convert string "x" to INT32'), 'x').dataIndependent).toBeUndefined();
  });

  it('BigQuery: compile errors, missing tables and permissions are data-independent; a bad cast is not', () => {
    const bq = (reason: string, message: string) => Object.assign(new Error(message), { code: 400, errors: [{ reason, message }] });
    expect(isDataIndependent(bq('invalidQuery', 'Unrecognized name: scroe at [1:8]'))).toBe(true);
    expect(isDataIndependent(bq('notFound', 'Not found: Table p:d.t was not found in location US'))).toBe(true);
    expect(isDataIndependent(bq('accessDenied', 'Access Denied: Table p:d.t'))).toBe(true);
    expect(toFailure(bq('invalidQuery', 'Bad int64 value: x'))).toEqual({
      category: 'PROCESSOR_ERROR',
      message: 'BigQuery: Bad int64 value: x (invalidQuery)',
    });
  });
});
