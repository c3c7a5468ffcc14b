/**
 * A source partition's version is its row-hash sum split at 2^52 (sourceVersion). The split is taken
 * by shift and mask since issue 15 (DuckDB's HUGEINT division was half of a 300-source plan's CPU);
 * versions recorded before, by division, must read back equal, or every reader of every source would
 * turn stale after an upgrade.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PipelineNode } from '../src/core/model.js';
import { sourceVersionsSql } from '../src/warehouse/duckdb/snapshot.js';
import { withDuckdb } from './support/duckdb.js';

const dir = mkdtempSync(join(tmpdir(), 'dag-source-version-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The formula versions were recorded with before issue 15. */
const BY_DIVISION =
  "SELECT t.d AS partition_date, (sum(hash(t)) // 4503599627370496)::VARCHAR || '.' || (sum(hash(t)) % 4503599627370496)::VARCHAR || ':' || count(*)::VARCHAR AS version FROM raw.events AS t WHERE t.d IS NOT NULL GROUP BY 1";

describe('source versions', () => {
  it('are the same text by shift and mask as by division, high half included', async () => {
    const node = { kind: 'source', name: 'events', table: { schema: 'raw', name: 'events' }, partitionColumn: 'd' } as unknown as PipelineNode;
    const rows = await withDuckdb(join(dir, 'w.duckdb'), async (c) => {
      await c.run('CREATE SCHEMA raw');
      // Days with 1 to 3,000 rows: sums of 64-bit hashes from below 2^64 to far above 2^52.
      await c.run(
        "CREATE TABLE raw.events AS SELECT DATE '2024-01-01' + (i % 40)::INTEGER AS d, i AS v, md5(i::VARCHAR) AS s FROM range(0, 60000) r(i) WHERE i % 40 < 20 OR i < 40",
      );
      const sql = `SELECT a.partition_date::VARCHAR, a.version, b.version FROM (${sourceVersionsSql(node).replace('"dag_target".', '')}) AS a FULL JOIN (${BY_DIVISION}) AS b USING (partition_date) ORDER BY 1`;
      return (await c.runAndReadAll(sql)).getRows().map((r) => r.map(String));
    });
    expect(rows).toHaveLength(40);
    for (const [day, shifted, divided] of rows) expect({ day, version: shifted }).toEqual({ day, version: divided });
    // The high half is non-zero somewhere: the split itself is compared, not only the low half.
    expect(rows.some(([, v]) => !String(v).startsWith('0.'))).toBe(true);
  });
});
