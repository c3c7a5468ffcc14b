/**
 * The ledger's version and shape, judged the same way for both adapters: each reads which ledger
 * tables exist with which columns (and `meta`'s schema_version) in its own dialect, and this module
 * says whether that is no ledger yet, the current version, an older one to migrate, or something dag
 * must refuse (newer, or damaged). A refusal names the table and column and says what to do: a
 * damaged ledger read anyway would make dag call partitions fresh that are not.
 */
import { WarehouseError } from './port.js';

/**
 * The ledger version this dag writes. Version 2 added `partitions.table_name` (identity by table);
 * version 3 added the run's range and counts to `runs` and the `batches` table (`dag runs`),
 * and the `checks` table (data-check findings).
 */
export const LEDGER_SCHEMA_VERSION = 3;

/** The column version 2 added to `partitions`: a version-1 ledger lacks it. */
export const TABLE_NAME_COLUMN = 'table_name';

/** The columns version 3 added to `runs` (NULL in a run's start row and in runs recorded before). */
export const RUN_SUMMARY_COLUMNS = ['range_start', 'range_end', 'built', 'failed', 'upstream_failed', 'blocked'] as const;

/**
 * Columns later versions added, by table, with the version that added them (the same names on both
 * engines): an older ledger lacks them until a run migrates it, and is read without them meanwhile.
 */
const COLUMNS_ADDED_IN: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  partitions: { [TABLE_NAME_COLUMN]: 2 },
  runs: Object.fromEntries(RUN_SUMMARY_COLUMNS.map((c) => [c, 3])),
};

/** Tables later versions added, with the version that added them. */
const TABLES_ADDED_IN: Readonly<Record<string, number>> = { batches: 3, checks: 3 };

/** What one engine's ledger must hold at the current version. */
export interface LedgerSpec {
  /** Required columns of every ledger table, `meta` included. */
  readonly tables: Readonly<Record<string, readonly string[]>>;
  /**
   * BigQuery ledgers written before version 2 have no `meta` table: without one, such a ledger is
   * version 1. On DuckDB `meta` always existed, so its absence is damage.
   */
  readonly noMetaMeansV1: boolean;
}

/** What an adapter found in the ledger schema. */
export interface FoundLedger {
  /** Each existing ledger table's column names, as the engine reports them. */
  readonly columns: ReadonlyMap<string, readonly string[]>;
  /** `meta`'s schema_version values (normally exactly one); empty when there is no meta or no row. */
  readonly versions: readonly string[];
}

/** How an adapter names things in messages. */
export interface LedgerPlace {
  /** e.g. "the ledger of target 'dev' (schema _dag)". */
  readonly describe: string;
  /** A ledger table as a user would type it: `_dag.partitions`. */
  readonly table: (name: string) => string;
  /** How to start the ledger over on this engine, e.g. `DROP SCHEMA _dag CASCADE`. */
  readonly startOver: string;
  /** The pipeline.yaml key that moves the ledger elsewhere: ledger_schema or ledger_dataset. */
  readonly key: string;
}

/**
 * absent: no ledger yet. v1: an older ledger, read by processor name until a run migrates it. v2: an
 * older ledger read by table, without the run summaries, batches and check findings of version 3 until a run migrates it.
 */
export type LedgerState = 'absent' | 'current' | 'v1' | 'v2';

/** An older ledger a writing dag migrates before it reads it for a run or writes to it. */
export function isOlderLedger(state: LedgerState): state is 'v1' | 'v2' {
  return state === 'v1' || state === 'v2';
}

/** Whether a ledger in `state` has the run summaries and batches of version 3. */
export function hasRunSummaries(state: LedgerState): boolean {
  return state === 'current';
}

/** Judges a ledger; throws WarehouseError('bad-ledger') for a newer or damaged one (src/cli: exit 2). */
export function judgeLedger(spec: LedgerSpec, found: FoundLedger, place: LedgerPlace): LedgerState {
  const known = Object.keys(spec.tables).filter((name) => found.columns.has(name));
  if (known.length === 0) return 'absent';
  const version = ledgerVersion(spec, found, place);
  if (version > LEDGER_SCHEMA_VERSION)
    throw new WarehouseError(
      'bad-ledger',
      `${place.describe} is version ${version}, newer than this dag understands (${LEDGER_SCHEMA_VERSION})`,
      `a newer dag wrote it: upgrade dag, or point the target's ${place.key} at another one`,
    );
  const problems: string[] = [];
  const renames: string[] = [];
  for (const [table, required] of Object.entries(spec.tables)) {
    const columns = found.columns.get(table);
    if (!columns) {
      // A version-1 ledger may predate a table, and an older one the tables a later version added: the
      // migration creates them. meta was judged above.
      const predates = version === 1 || (TABLES_ADDED_IN[table] ?? 1) > version;
      if (!predates && table !== 'meta') problems.push(`table ${place.table(table)} is missing`);
      continue;
    }
    const have = new Set(columns.map((c) => c.toLowerCase()));
    const needed = required.filter((c) => (COLUMNS_ADDED_IN[table]?.[c] ?? 1) <= version);
    const missing = needed.filter((c) => !have.has(c));
    if (missing.length === 0) continue;
    problems.push(`table ${place.table(table)} has no column ${missing.join(', ')} (it has ${columns.join(', ')})`);
    const extra = columns.filter((c) => !required.includes(c.toLowerCase()));
    if (missing.length === 1 && extra.length === 1) renames.push(`${place.table(table)}.${extra[0]} back to ${missing[0]}`);
  }
  if (problems.length > 0)
    throw new WarehouseError(
      'bad-ledger',
      `${place.describe} is damaged: ${problems.join('; ')}`,
      `${renames.length > 0 ? `if a column was renamed, rename ${renames.join(', ')}; else ` : ''}restore it from a backup, or start the ledger over: ${place.startOver} (dag then takes every existing partition as built outside dag)`,
    );
  return version === 1 ? 'v1' : version === 2 ? 'v2' : 'current';
}

function ledgerVersion(spec: LedgerSpec, found: FoundLedger, place: LedgerPlace): number {
  const meta = found.columns.get('meta');
  const damaged = (what: string, fix: string): WarehouseError =>
    new WarehouseError(
      'bad-ledger',
      `${place.describe} is damaged: ${what}`,
      `${fix}, or restore the ledger from a backup, or start it over: ${place.startOver}`,
    );
  if (!meta) {
    if (spec.noMetaMeansV1) return 1;
    throw damaged(
      `table ${place.table('meta')} is missing`,
      `recreate it (key VARCHAR, value VARCHAR) with the row ('schema_version', '${LEDGER_SCHEMA_VERSION}') if the ledger has table_name`,
    );
  }
  const lower = meta.map((c) => c.toLowerCase());
  if (!lower.includes('key') || !lower.includes('value'))
    throw damaged(
      `table ${place.table('meta')} has no column ${['key', 'value'].filter((c) => !lower.includes(c)).join(', ')} (it has ${meta.join(', ')})`,
      'restore the column',
    );
  const distinct = [...new Set(found.versions)];
  if (distinct.length === 0) {
    if (spec.noMetaMeansV1) return 1;
    throw damaged(`${place.table('meta')} has no schema_version row`, `insert it (INSERT INTO ${place.table('meta')} VALUES ('schema_version', '<version>'))`);
  }
  const texts = distinct.map((v) => v.trim());
  if (distinct.length > 1 || !/^\d+$/.test(texts[0] ?? ''))
    throw damaged(
      `${place.table('meta')} schema_version is ${distinct.map((v) => `'${v}'`).join(' and ')}, not one whole number`,
      'keep exactly one schema_version row holding the version',
    );
  const version = Number(texts[0]);
  if (version < 1) throw damaged(`${place.table('meta')} schema_version is ${version}`, 'set it to the version the ledger was written with');
  return version;
}
