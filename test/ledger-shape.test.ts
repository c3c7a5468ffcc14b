/**
 * The ledger verdict both adapters share (src/warehouse/ledger-shape.ts), on the shapes a user can
 * leave behind: the cases the CLI tests do not reach cheaply.
 */
import { describe, expect, it } from 'vitest';
import { judgeLedger, RUN_SUMMARY_COLUMNS, type FoundLedger, type LedgerSpec } from '../src/warehouse/ledger-shape.js';
import { LEDGER_SPEC as BIGQUERY } from '../src/warehouse/bigquery/sql.js';
import { LEDGER_SPEC as DUCKDB } from '../src/warehouse/duckdb/sql.js';

const place = { describe: 'the ledger', table: (name: string) => `_dag.${name}`, startOver: 'DROP SCHEMA _dag CASCADE', key: 'ledger_schema' };

function found(spec: LedgerSpec, versions: string[], change: (columns: Map<string, string[]>) => void = () => undefined): FoundLedger {
  const columns = new Map(Object.entries(spec.tables).map(([table, list]) => [table, [...list]]));
  change(columns);
  return { columns, versions };
}
const withoutTableName = (columns: Map<string, string[]>) =>
  columns.set(
    'partitions',
    (columns.get('partitions') ?? []).filter((c) => c !== 'table_name'),
  );
/** A version-2 ledger: no run summary columns, no batches or checks table. */
const asVersion2 = (columns: Map<string, string[]>) => {
  columns.delete('batches');
  columns.delete('checks');
  return columns.set(
    'runs',
    (columns.get('runs') ?? []).filter((c) => !(RUN_SUMMARY_COLUMNS as readonly string[]).includes(c)),
  );
};

describe('judgeLedger', () => {
  it('tells absent, current and version 1 apart', () => {
    expect(judgeLedger(DUCKDB, { columns: new Map([['unrelated', ['x']]]), versions: [] }, place)).toBe('absent');
    expect(judgeLedger(DUCKDB, found(DUCKDB, ['3']), place)).toBe('current');
    // A version-2 ledger lacks the run summaries and batches of version 3: read without them until migrated.
    expect(judgeLedger(DUCKDB, found(DUCKDB, ['2'], asVersion2), place)).toBe('v2');
    expect(judgeLedger(BIGQUERY, found(BIGQUERY, ['2'], asVersion2), place)).toBe('v2');
    expect(judgeLedger(DUCKDB, found(DUCKDB, ['1'], withoutTableName), place)).toBe('v1');
    // A version-1 ledger may lack a table the migration creates.
    expect(
      judgeLedger(
        DUCKDB,
        found(DUCKDB, ['1'], (c) => c.delete('source_versions')),
        place,
      ),
    ).toBe('v1');
  });

  it('BigQuery: no meta table, or meta without a version row (an interrupted migration), is version 1', () => {
    expect(
      judgeLedger(
        BIGQUERY,
        found(BIGQUERY, [], (c) => {
          c.delete('meta');
          withoutTableName(c);
        }),
        place,
      ),
    ).toBe('v1');
    expect(judgeLedger(BIGQUERY, found(BIGQUERY, []), place)).toBe('v1');
  });

  it('refuses, naming what is wrong', () => {
    expect(() => judgeLedger(DUCKDB, found(DUCKDB, ['4']), place)).toThrow('the ledger is version 4, newer than this dag understands (3)');
    expect(() => judgeLedger(DUCKDB, found(DUCKDB, ['3'], withoutTableName), place)).toThrow('table _dag.partitions has no column table_name');
    expect(() =>
      judgeLedger(
        DUCKDB,
        found(DUCKDB, ['2'], (c) => withoutTableName(asVersion2(c))),
        place,
      ),
    ).toThrow('table _dag.partitions has no column table_name');
    expect(() =>
      judgeLedger(
        DUCKDB,
        found(DUCKDB, ['3'], (c) => c.delete('failures')),
        place,
      ),
    ).toThrow('table _dag.failures is missing');
    expect(() =>
      judgeLedger(
        DUCKDB,
        found(DUCKDB, ['3'], (c) => c.delete('batches')),
        place,
      ),
    ).toThrow('table _dag.batches is missing');
    expect(() =>
      judgeLedger(
        DUCKDB,
        found(DUCKDB, ['3'], (c) => c.delete('checks')),
        place,
      ),
    ).toThrow('table _dag.checks is missing');
    expect(() => judgeLedger(DUCKDB, found(DUCKDB, []), place)).toThrow('_dag.meta has no schema_version row');
    expect(() => judgeLedger(DUCKDB, found(DUCKDB, ['two']), place)).toThrow(`schema_version is 'two', not one whole number`);
    expect(() => judgeLedger(DUCKDB, found(DUCKDB, ['1', '2']), place)).toThrow(`schema_version is '1' and '2'`);
    expect(() =>
      judgeLedger(
        DUCKDB,
        found(DUCKDB, ['3'], (c) => c.set('meta', ['k', 'value'])),
        place,
      ),
    ).toThrow('table _dag.meta has no column key (it has k, value)');
    // Several problems at once, each named.
    expect(() =>
      judgeLedger(
        DUCKDB,
        found(DUCKDB, ['3'], (c) => {
          c.delete('runs');
          c.set('failures', ['run_id']);
        }),
        place,
      ),
    ).toThrow(/table _dag\.runs is missing; table _dag\.failures has no column processor, partition_date/);
  });
});
