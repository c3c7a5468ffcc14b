/**
 * What a checked SQL batch costs on DuckDB (docs/checks.md "Freshness and cost", bench/RUN.md): a
 * clean batch writes its rows once, straight into the table, and its checks run inside the same
 * transaction; warnings are committed with samples read from the rows committed; only an error
 * finding re-writes the batch through a staging table, without the failing day.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countsByDay, isoDay, makeProject, parseRunJson, pipelineYaml, processorOf } from './fixtures/run/project.js';
import { queryRows } from './support/duckdb.js';

const RANGE = `${isoDay(0)}..${isoDay(6)}`;
const sql = (id: string) => `select d, ${id} as id, payload from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }}\n`;
const yaml = pipelineYaml(`  P:
    table: p.p
    upstream: [src]
    sql: sql/p.sql
    batch_size: 7
    checks:
      - not_null: [id]
      - unique: [id]
      - row_count: { max: 2 }
        severity: warn
      - accepted_values: { column: id, values: [0, 1] }
        severity: warn
`);

describe('checks inside the batch, in place', () => {
  it('a batch with warnings only is written once and committed whole; an error finding re-writes it without the failing day', async () => {
    // raw.src holds 1, 2, 3, 1, 2, 3, 1 rows on days 0..6 (ids 0..n-1): days 2 and 5 have 3 rows and id 2.
    const project = await makeProject(yaml, { 'sql/p.sql': sql('id') }, 7);
    const run = await project.dag(['run', '--range', RANGE], { DAG_LOG_SQL: 'sql.log' });
    expect(run.code, run.stderr).toBe(0);
    expect([...(await countsByDay(project.db, 'p.p')).values()]).toEqual([1, 2, 3, 1, 2, 3, 1]);
    const log = readFileSync(join(project.dir, 'sql.log'), 'utf8');
    expect(log).not.toContain('dag_checked_');
    expect(log.match(/CREATE TABLE "dag_target"\."p"\."p" AS/g)).toHaveLength(1);
    const recorded = await queryRows(
      project.db,
      `select strftime(partition_date, '%Y-%m-%d') as day, check_name, offending_rows::INTEGER as n, samples from _dag.checks order by check_name, day`,
    );
    expect(recorded.map((r) => `${r.check_name} ${r.day} ${r.n}`)).toEqual([
      `accepted_values(id) ${isoDay(2)} 1`,
      `accepted_values(id) ${isoDay(5)} 1`,
      `row_count(max=2) ${isoDay(2)} 1`,
      `row_count(max=2) ${isoDay(5)} 1`,
    ]);
    expect(JSON.parse(String(recorded[2]?.samples))).toEqual([{ d: isoDay(2), rows: 3 }]);
    expect(JSON.parse(String(recorded[0]?.samples))).toEqual([{ d: isoDay(2), id: 2, payload: `${isoDay(2)}#2` }]);

    // Now day 3's id is NULL: the error check fails it, the batch is re-written without it.
    const NULL_ON_DAY_3 = `case when d = DATE '${isoDay(3)}' then null else id end`;
    writeFileSync(join(project.dir, 'sql/p.sql'), sql(NULL_ON_DAY_3));
    const again = await project.dag(['run', '--range', RANGE, '--json'], { DAG_LOG_SQL: 'sql2.log' });
    expect(again.code).toBe(1);
    const p = processorOf(parseRunJson(again), 'P');
    expect(p.built).toEqual([0, 1, 2, 4, 5, 6].map(isoDay));
    expect(p.failed).toEqual([expect.objectContaining({ date: isoDay(3), category: 'CHECK_FAILED' })]);
    expect(readFileSync(join(project.dir, 'sql2.log'), 'utf8')).toContain('dag_checked_');
    expect(await queryRows(project.db, `select count(*)::INTEGER as n from p.p where id is null`)).toEqual([{ n: 0 }]);
  });
});
