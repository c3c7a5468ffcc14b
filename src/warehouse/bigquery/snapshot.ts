/**
 * The snapshot from metadata only: one INFORMATION_SCHEMA query per dataset (TABLES + COLUMNS +
 * PARTITIONS + TABLE_OPTIONS unioned, at most 1,000 tables a query) and, beside them, the ledger
 * check (its columns, its version) followed by the ledger, names and failures queries. A partition's
 * version is `lastModifiedMs:rows` and its changedAt the last_modified_time (DELETE-only changes may
 * not move it: BigQuery documents that deletions "might not be reflected"). Ledger rows are matched to
 * processors by table (or by name in a version-1 ledger read as such).
 */
import type { BigQuery } from '@google-cloud/bigquery';
import { parseIsoDate, type Day } from '../../core/dates.js';
import type { BigqueryTarget, Pipeline, PipelineNode } from '../../core/model.js';
import type { LedgerEntry, PartitionInfo, Snapshot, TableInventory } from '../../core/snapshot.js';
import { WarehouseError } from '../port.js';
import { calendarDays, ledgerIdentity, ledgerKeyOf, nodesToRead, type LedgerNames } from '../shared.js';
import { errorMessage, isNotFound } from './errors.js';
import { runJob, type JobContext, type Row } from './jobs.js';
import type { LedgerCheck } from './ledger.js';
import { failuresSql, inventorySql, ledgerNamesSql, ledgerSql } from './sql.js';

const TABLES_PER_QUERY = 1_000;

/**
 * The time-unit granularity of a table's partitioning other than DAY, from its DDL
 * (INFORMATION_SCHEMA.TABLES.ddl: `PARTITION BY DATE_TRUNC(col, MONTH)`) or its partition ids
 * (YYYYMM for MONTH, YYYY for YEAR, YYYYMMDDHH for HOUR:
 * https://cloud.google.com/bigquery/docs/managing-partitioned-tables). dag reads and writes days, so
 * such a table would look empty (its ids are no days) and be rebuilt on every run: it is refused.
 */
export function coarseGranularity(ddl: string, partitionIds: readonly string[]): string | undefined {
  const truncated = /PARTITION\s+BY\s+(?:DATE|TIMESTAMP|DATETIME)_TRUNC\s*\([^,()]+,\s*(HOUR|MONTH|YEAR)\s*\)/i.exec(ddl)?.[1];
  if (truncated) return truncated.toUpperCase();
  const sizes: Readonly<Record<number, string>> = { 4: 'YEAR', 6: 'MONTH', 10: 'HOUR' };
  for (const id of partitionIds) if (/^\d+$/.test(id) && sizes[id.length]) return sizes[id.length];
  return undefined;
}

/** `YYYYMMDD` → Day; undefined for `__NULL__`, `__UNPARTITIONED__` and anything else. */
export function partitionIdToDay(id: string): Day | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(id);
  return match ? parseIsoDate(`${match[1]}-${match[2]}-${match[3]}`) : undefined;
}

interface TableFacts {
  exists: boolean;
  partitioning: { column: string; type: string } | undefined;
  partitions: Map<Day, PartitionInfo>;
  expirationDays: number | undefined;
  ddl: string;
  partitionIds: string[];
}

/** The ledger as one snapshot reads it. */
interface LedgerRead {
  readonly ledger: Map<string, Map<Day, LedgerEntry>>;
  readonly failures: Map<string, Map<Day, string>>;
  readonly identity: Pick<Snapshot, 'formerNames' | 'orphanedLedger' | 'olderLedgerVersion'>;
  readonly queries: number;
}

export async function readBigquerySnapshot(
  client: BigQuery,
  target: BigqueryTarget,
  pipeline: Pipeline,
  names: readonly string[],
  labels: Readonly<Record<string, string>> = {},
  check: () => Promise<LedgerCheck> = async () => ({ state: 'current', queries: 0 }),
): Promise<Snapshot> {
  const context = { target, labels };
  const nodes = nodesToRead(pipeline, names);
  const byDataset = new Map<string, Set<string>>();
  for (const node of nodes) {
    const set = byDataset.get(node.table.schema) ?? new Set<string>();
    set.add(node.table.name);
    byDataset.set(node.table.schema, set);
  }
  const facts = new Map<string, TableFacts>();
  let queries = 0;
  const reads: Promise<void>[] = [];
  for (const [dataset, tables] of byDataset) {
    const list = [...tables].sort();
    for (let i = 0; i < list.length; i += TABLES_PER_QUERY) {
      const chunk = list.slice(i, i + TABLES_PER_QUERY);
      queries += 1;
      reads.push(readInventory(client, context, dataset, chunk, facts));
    }
  }
  const processors = nodes.filter((n) => n.kind === 'processor');
  const ledgerRead = readLedgerState(client, context, pipeline, processors, check);
  // Settle every read before answering: none is left running behind an error.
  const settled = await Promise.allSettled([...reads, ledgerRead]);
  try {
    for (const result of settled) if (result.status === 'rejected') throw result.reason;
    const { ledger, failures, identity, queries: ledgerQueries } = await ledgerRead;
    const tables = checkedInventories(nodes, facts);
    return { calendar: calendarDays(pipeline, tables), tables, ledger, failures, ...identity, stats: { queries: queries + ledgerQueries } };
  } catch (error) {
    if (error instanceof WarehouseError) throw error;
    throw new WarehouseError(
      'unreadable-target',
      `cannot read BigQuery target '${target.name}' (project ${target.project}, location ${target.location}): ${errorMessage(error)}`,
      'check the credentials (GOOGLE_APPLICATION_CREDENTIALS or key_file), the project and location, and bigquery.jobs.create / metadata read permissions',
    );
  }
}

async function readInventory(client: BigQuery, context: JobContext, dataset: string, tables: string[], facts: Map<string, TableFacts>): Promise<void> {
  const { target } = context;
  for (const table of tables)
    facts.set(`${dataset}.${table}`, { exists: false, partitioning: undefined, partitions: new Map(), expirationDays: undefined, ddl: '', partitionIds: [] });
  let rows: Row[];
  try {
    rows = await runJob(client, inventorySql(target.project, dataset), { tables }, context);
  } catch (error) {
    if (isNotFound(error)) return; // the dataset does not exist yet: every table absent
    throw error;
  }
  for (const row of rows) {
    const fact = facts.get(`${dataset}.${String(row.table_name)}`);
    if (!fact) continue;
    const item = row.item === null || row.item === undefined ? '' : String(row.item);
    if (row.kind === 'table') {
      fact.exists = true;
      fact.ddl = item;
    } else if (row.kind === 'expiration') {
      const days = Number(item);
      if (Number.isFinite(days) && days > 0) fact.expirationDays = days;
    } else if (row.kind === 'column') {
      const at = item.lastIndexOf(':');
      fact.partitioning = { column: item.slice(0, at), type: item.slice(at + 1).toUpperCase() };
    } else if (row.kind === 'partition') {
      fact.partitionIds.push(item);
      const day = partitionIdToDay(item);
      if (day === undefined) continue; // __NULL__, __UNPARTITIONED__ (streaming buffer), or an unpartitioned table
      const count = Number(row.total_rows ?? 0);
      if (count <= 0) continue;
      const modified = Number(row.modified_ms);
      fact.partitions.set(day, { rows: count, version: `${modified}:${count}`, changedAt: Number.isFinite(modified) ? modified : undefined });
    }
  }
}

/** Turns facts into inventories, refusing tables dag cannot read by partition (all problems at once). */
function checkedInventories(nodes: readonly PipelineNode[], facts: Map<string, TableFacts>): Map<string, TableInventory> {
  const tables = new Map<string, TableInventory>();
  const problems: string[] = [];
  for (const node of nodes) {
    const fact = facts.get(`${node.table.schema}.${node.table.name}`);
    if (!fact?.exists) {
      tables.set(node.name, { exists: false, partitions: new Map() });
      continue;
    }
    const where = `${node.name} (${node.table.schema}.${node.table.name})`;
    if (!fact.partitioning) problems.push(`${where} is not partitioned; dag needs it DAY-partitioned on the DATE column ${node.partitionColumn}`);
    else if (fact.partitioning.column !== node.partitionColumn)
      problems.push(`${where} is partitioned on ${fact.partitioning.column}, but pipeline.yaml says partition_column: ${node.partitionColumn}`);
    else if (fact.partitioning.type !== 'DATE')
      problems.push(`${where}: partition column ${node.partitionColumn} is ${fact.partitioning.type}, dag needs a DATE column`);
    else {
      const granularity = coarseGranularity(fact.ddl, fact.partitionIds);
      if (granularity)
        problems.push(
          `${where} is ${granularity}-partitioned on ${node.partitionColumn}; dag reads and writes one partition per day and would see none here: recreate it DAY-partitioned (CREATE TABLE ... PARTITION BY ${node.partitionColumn} AS SELECT * FROM the old table), or point pipeline.yaml at a DAY-partitioned copy`,
        );
    }
    tables.set(node.name, { exists: true, partitions: fact.partitions, ...(fact.expirationDays !== undefined ? { expirationDays: fact.expirationDays } : {}) });
  }
  if (problems.length > 0)
    throw new WarehouseError(
      'bad-table',
      `cannot read partitions of ${problems.length} table(s): ${problems.join('; ')}`,
      'fix partition_column in pipeline.yaml, or recreate the table with PARTITION BY <date column>',
    );
  return tables;
}

/**
 * The ledger after its check: nothing for an absent one; else entries, failures and the (name, table)
 * groups, side by side, by table (version 2) or by name (a version-1 ledger read as such).
 */
async function readLedgerState(
  client: BigQuery,
  context: JobContext,
  pipeline: Pipeline,
  processors: readonly PipelineNode[],
  check: () => Promise<LedgerCheck>,
): Promise<LedgerRead> {
  const { state, queries } = await check();
  if (state === 'absent') return { ledger: new Map(), failures: new Map(), identity: {}, queries };
  const byTable = state !== 'v1';
  const [ledger, failures, groups] = await Promise.all([
    processors.length > 0 ? readLedger(client, context, processors, byTable) : new Map<string, Map<Day, LedgerEntry>>(),
    processors.length > 0 ? readFailures(client, context, processors, byTable) : new Map<string, Map<Day, string>>(),
    readLedgerNames(client, context, byTable),
  ]);
  const identity = { ...ledgerIdentity(pipeline, groups, byTable), ...(byTable ? {} : { olderLedgerVersion: 1 }) };
  return { ledger, failures, identity, queries: queries + 1 + (processors.length > 0 ? 2 : 0) };
}

/** A ledger query's rows; none when a ledger table is gone since the check (dag never built anything here). */
async function ledgerRows(client: BigQuery, context: JobContext, sql: string, params: Record<string, unknown> | undefined): Promise<Row[]> {
  try {
    return await runJob(client, sql, params, context);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

async function readLedger(
  client: BigQuery,
  context: JobContext,
  processors: readonly PipelineNode[],
  byTable: boolean,
): Promise<Map<string, Map<Day, LedgerEntry>>> {
  const { target } = context;
  const owners = new Map(processors.map((node) => [ledgerKeyOf(node, byTable), node.name]));
  const ledger = new Map<string, Map<Day, LedgerEntry>>();
  for (const row of await ledgerRows(client, context, ledgerSql(target.project, target.ledgerSchema, byTable), { keys: [...owners.keys()] })) {
    const day = parseIsoDate(String(row.partition_date));
    const name = owners.get(String(row.ledger_key));
    if (day === undefined || name === undefined) continue;
    const entries = ledger.get(name) ?? new Map<Day, LedgerEntry>();
    entries.set(day, {
      runId: String(row.run_id),
      builtAt: Number(row.built_at_ms),
      rows: Number(row.row_count ?? 0),
      codeFingerprint: String(row.code_fingerprint ?? ''),
      inputFingerprint: String(row.input_fingerprint ?? ''),
    });
    ledger.set(name, entries);
  }
  return ledger;
}

async function readLedgerNames(client: BigQuery, context: JobContext, byTable: boolean): Promise<LedgerNames[]> {
  const { target } = context;
  const rows = await ledgerRows(client, context, ledgerNamesSql(target.project, target.ledgerSchema, byTable), undefined);
  return rows.map((row) => ({
    processor: String(row.processor),
    table: row.table_name === null || row.table_name === undefined ? undefined : String(row.table_name),
    partitions: Number(row.n ?? 0),
  }));
}

async function readFailures(
  client: BigQuery,
  context: JobContext,
  processors: readonly PipelineNode[],
  byTable: boolean,
): Promise<Map<string, Map<Day, string>>> {
  const { target } = context;
  const names = processors.map((node) => ({ processor: node.name, ledger_key: ledgerKeyOf(node, byTable) }));
  const failures = new Map<string, Map<Day, string>>();
  for (const row of await ledgerRows(client, context, failuresSql(target.project, target.ledgerSchema, byTable), { names })) {
    const day = parseIsoDate(String(row.partition_date));
    if (day === undefined) continue;
    const name = String(row.processor);
    const entries = failures.get(name) ?? new Map<Day, string>();
    entries.set(day, String(row.category));
    failures.set(name, entries);
  }
  return failures;
}
