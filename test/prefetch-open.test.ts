/**
 * A read-only command starts opening its DuckDB file as soon as pipeline.yaml's targets are known, so
 * the file's catalog loads while the processors' SQL is read and hashed (issue 15: ~200 ms of a
 * 2,000-table plan). The early open must be the one the command uses, and must fail exactly as a
 * late one would: same message, same exit code, no stack trace.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDuckdb, prefetchDuckdb } from '../src/warehouse/duckdb/index.js';
import { looksLikeStackTrace, removeTempProjects, runDag, tempProject } from './support/cli.js';
import { createTable, duckdbTarget } from './support/duckdb.js';
import { pipelineOf, source } from './support/duckdb-pipeline.js';

afterAll(removeTempProjects);

describe('opening a DuckDB file early', () => {
  it('is taken by the next read-only open of the file, once, and reads like any open', async () => {
    const dir = tempProject({}, 'dag-prefetch-');
    const db = join(dir, 'w.duckdb');
    await createTable(db, 'raw.box', 'game_date', { '2021-11-01': 2, '2021-11-02': 1 });
    const target = duckdbTarget(db);
    const pipeline = pipelineOf(db, [source('box', 'raw.box')]);
    // The early open logs its statements (DAG_LOG_SQL) where the later opens do not: the log tells which ran.
    const log = join(dir, 'early.sql');
    const logged = (): string => (existsSync(log) ? readFileSync(log, 'utf8') : '');
    await prefetchDuckdb(target, { DAG_LOG_SQL: log });
    // A warehouse with its own statement hook never takes the early open: it opens its own.
    const statements: string[] = [];
    const own = await openDuckdb(target, { env: {}, readOnly: true, onStatement: (sql) => statements.push(sql) });
    await own.readSnapshot(pipeline, ['box']);
    await own.close();
    expect(statements.length).toBeGreaterThan(0);
    expect(logged()).toBe('');
    const early = await openDuckdb(target, { env: {}, readOnly: true });
    const snapshot = await early.readSnapshot(pipeline, ['box']);
    await early.close();
    expect([...snapshot.tables.get('box')!.partitions.values()].map((info) => info.rows)).toEqual([2, 1]);
    const once = logged();
    expect(once).toContain('FROM "dag_target"."raw"."box"');
    // Taken once: the next open is an ordinary one, and works as well.
    const again = await openDuckdb(target, { env: {}, readOnly: true });
    expect((await again.readSnapshot(pipeline, ['box'])).tables.get('box')!.exists).toBe(true);
    await again.close();
    expect(logged()).toBe(once);
  });

  it('does nothing for a file that does not exist: the plan is of an empty warehouse', async () => {
    const dir = tempProject({}, 'dag-prefetch-');
    const target = duckdbTarget(join(dir, 'absent.duckdb'));
    await prefetchDuckdb(target, {});
    const warehouse = await openDuckdb(target, { env: {}, readOnly: true });
    const snapshot = await warehouse.readSnapshot(pipelineOf(target.path, [source('box', 'raw.box')]), ['box']);
    await warehouse.close();
    expect(snapshot.tables.get('box')!.exists).toBe(false);
  });

  it('fails through the CLI as a late open does: the file named, exit 2, no stack trace', async () => {
    const dir = tempProject(
      {
        'pipeline.yaml': [
          'version: 1',
          'name: broken',
          'targets:',
          '  dev: { type: duckdb, path: w.duckdb }',
          'sources:',
          '  box: { table: raw.box }',
          'processors:',
          '  daily:',
          '    table: out.daily',
          '    upstream: { box: same }',
          '    sql: daily.sql',
          '',
        ].join('\n'),
        'daily.sql': 'SELECT game_date FROM {{ ref("box") }} WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }}\n',
      },
      'dag-prefetch-',
    );
    writeFileSync(join(dir, 'w.duckdb'), 'this is not a database\n'.repeat(1000));
    for (const args of [
      ['plan', '--range', '2021-11-01..2021-11-02'],
      ['explain', 'daily', '2021-11-01'],
    ]) {
      const result = await runDag(args, { cwd: dir });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`cannot open the DuckDB file ${join(dir, 'w.duckdb')}`);
      expect(looksLikeStackTrace(result.stderr)).toBe(false);
    }
  });
});
