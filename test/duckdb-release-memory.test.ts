/**
 * A read-only open gives DuckDB's buffer pool back once the snapshot is read (issue 15: a 2,000-table
 * plan held ~1.2 GB of table blocks while planning): the blocks read are evicted, the memory limit is
 * the default again for the queries that follow, and nothing is written beside the project.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OpenDatabase } from '../src/warehouse/duckdb/connection.js';
import { tempProject } from './support/cli.js';
import { execSql } from './support/duckdb.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const TABLES = 40;

describe('releasing DuckDB memory after a read-only snapshot', () => {
  it('evicts the blocks read, restores the memory limit and still answers queries', async () => {
    const dir = tempProject({}, 'dag-release-');
    dirs.push(dir);
    const path = join(dir, 'w.duckdb');
    await execSql(
      path,
      'CREATE SCHEMA IF NOT EXISTS raw',
      ...Array.from({ length: TABLES }, (_, t) => `CREATE TABLE raw.t${t} AS SELECT range AS x, range::VARCHAR AS s FROM range(50000)`),
    );
    const cwd = process.cwd();
    process.chdir(dir); // DuckDB would spill into `.tmp` in the working directory
    const db = await OpenDatabase.open(path, true);
    try {
      const memory = async (): Promise<{ bytes: number; limit: string }> => {
        const [[bytes], [limit]] = (await db.main.columns(
          `SELECT sum(memory_usage_bytes)::DOUBLE, any_value(current_setting('memory_limit')) FROM duckdb_memory()`,
        )) as [[number], [string]];
        return { bytes, limit };
      };
      const before = await memory();
      const union = Array.from({ length: TABLES }, (_, t) => `SELECT count(DISTINCT s) AS n FROM raw.t${t}`).join(' UNION ALL ');
      await db.main.columns(union);
      const read = await memory();
      expect(read.bytes).toBeGreaterThan(before.bytes + 5_000_000);

      await db.releaseMemory();
      const released = await memory();
      expect(released.bytes).toBeLessThan(before.bytes + 1_000_000);
      // Set back from its display ("18.8 GiB"), so equal to a rounding of the last digit.
      expect(released.limit.replace(/[\d.]+/, '')).toBe(before.limit.replace(/[\d.]+/, ''));
      expect(Math.abs(Number.parseFloat(released.limit) / Number.parseFloat(before.limit) - 1)).toBeLessThan(0.01);
      expect(existsSync(join(dir, '.tmp'))).toBe(false);
      // Later queries (a report's history) read what they need again.
      const [counts = []] = await db.main.columns(union);
      expect(counts.map(Number)).toEqual(Array.from({ length: TABLES }, () => 50000));
    } finally {
      process.chdir(cwd);
      db.close();
    }
  });
});
