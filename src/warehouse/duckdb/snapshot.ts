/**
 * readSnapshot for DuckDB: one column-metadata query, one query for the ledger's (table, name)
 * groups, one inventory query per group of up to TABLES_PER_QUERY existing tables (a source's
 * versions compared with the recorded ones in SQL), two for the ledger and one for the latest
 * failures. Every big result arrives as numeric columns in typed arrays (snapshot-columns.ts) kept
 * as Snapshot.columns, the Maps being views of them: no object, Date or string per partition is
 * built to plan. Ledger rows are matched to processors by table (ledger version 2), or by name in a version-1
 * ledger read as such (the ledger reads are in snapshot-ledger.ts).
 */
import type { Day } from '../../core/dates.js';
import { tableName, type Pipeline, type PipelineNode } from '../../core/model.js';
import type { Snapshot, TableInventory } from '../../core/snapshot.js';
import { calendarDays, firstLine, ledgerIdentity, ledgerKeyOf, ledgerKeyOfGroup, nodesToRead, readersBySource, type LedgerNames } from '../shared.js';
import { WarehouseError } from '../port.js';
import { isOutOfMemory, type SerialConnection } from './connection.js';
import { InventoryView, LedgerView, type PartitionColumns } from '../../core/snapshot-columns.js';
import {
  hashHalves,
  mergeColumns,
  ownerRanges,
  readInventoryGroup,
  TABLES_PER_QUERY,
  TableReadError,
  type InventoryRequest,
  type InventorySlice,
  type LedgerColumns,
} from './snapshot-columns.js';
import { readFailures, readLedgerColumns, readLedgerNames, type LedgerReader } from './snapshot-ledger.js';
import { CATALOG, ledgerTable, qualifiedTable, quoteIdent, quoteString, stringList } from './sql.js';

export interface SnapshotReader extends LedgerReader {
  readonly main: SerialConnection;
  /** Extra connections for running inventory queries side by side; may be empty. */
  readonly pool: readonly SerialConnection[];
  /** The target's name, for error messages. */
  readonly targetName: string;
  /** What a failing inventory query does (SnapshotOptions): throw, or name the table in Snapshot.unreadable. */
  readonly unreadable: 'throw' | 'report';
  /** Runs read-only queries with DuckDB's buffer pool bounded (OpenDatabase.bounded); read-only opens only. */
  readonly bounded?: <T>(work: () => Promise<T>) => Promise<T>;
}

/**
 * Processor tables from which their inventories are read with the buffer pool bounded: every table
 * costs at least one 256 KiB block, so below this many the blocks fit in the bound anyway and the
 * bounded pass would only add its settings (and defer the ledger's read).
 */
export const BOUNDED_FROM_TABLES = 256;

/**
 * Ledger rows up to which the ledger is read inside the bound too, beside the inventories (its sort:
 * ~50 bytes a row); a larger one is read after, unbounded (a 7.3M-row ledger would run out of memory
 * there and be read twice).
 */
export const BOUNDED_LEDGER_ROWS = 250_000;

/** One query of the snapshot and what it reads, so a failure can name it. */
interface Task {
  readonly reads: string;
  /** The queries it sends (1 unless said). */
  readonly queries?: number;
  /** `underBound`: running in a bounded buffer pool, where running out of memory is passed on. */
  readonly run: (connection: SerialConnection, underBound?: boolean) => Promise<void>;
}

/** What a warehouse that does not exist yet holds: nothing. */
export function emptySnapshot(pipeline: Pipeline, names: readonly string[]): Snapshot {
  const tables = new Map<string, TableInventory>();
  for (const node of nodesToRead(pipeline, names)) tables.set(node.name, { exists: false, partitions: new Map() });
  return { calendar: pipeline.calendar === undefined ? undefined : [], tables, ledger: new Map(), failures: new Map(), stats: { queries: 0 } };
}

export async function readDuckdbSnapshot(reader: SnapshotReader, pipeline: Pipeline, names: readonly string[]): Promise<Snapshot> {
  const nodes = nodesToRead(pipeline, names);
  let queries = 0;
  const schemas = new Set(nodes.map((node) => node.table.schema));
  schemas.add(reader.ledgerSchema);
  const columnRows = await reader.main.columns(
    `SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = ${quoteString(CATALOG)} AND schema_name IN (${stringList([...schemas])})`,
  );
  queries++;
  const columnTypes = columnTypesByTable(columnRows);
  const ledgerExists = (name: string): boolean => columnTypes.has(`${reader.ledgerSchema}.${name}`);

  const existing = nodes.filter((node) => checkPartitionColumn(node, columnTypes.get(tableName(node.table))));
  const processors = nodes.filter((node) => node.kind === 'processor');
  const partitionsTable = `the ledger table ${reader.ledgerSchema}.partitions`;
  let groups: LedgerNames[] = [];
  if (ledgerExists('partitions')) {
    groups = await readOrFail(partitionsTable, reader, () => readLedgerNames(reader.main, reader.ledgerSchema, reader.byTable));
    queries++;
  }
  const pendingVersions = sourcesWithoutLedgeredReaders(nodes, groups, reader.byTable);

  // Every remaining query is independent: run them side by side on the pool, the ledger first.
  const ledgerKeys = processors.map((node) => ledgerKeyOf(node, reader.byTable));
  let ledger: LedgerColumns = EMPTY_LEDGER;
  let failures = new Map<string, Map<Day, string>>();
  let checkFailures = new Map<string, Map<Day, string>>();
  const inventories = new Map<string, InventorySlice>();
  const tasks: Task[] = [];
  // Many processor tables: their inventories first, alone, in a bounded buffer pool (readBounded),
  // with the ledger's reads beside them when the ledger is small enough for its sort to fit.
  const processorTables = existing.filter((node) => node.kind === 'processor').length;
  const boundProcessors = reader.bounded !== undefined && processorTables >= BOUNDED_FROM_TABLES;
  const ledgerRows = groups.reduce((sum, group) => sum + group.partitions, 0);
  const boundedTasks: Task[] = [];
  const ledgerTasks = boundProcessors && ledgerRows <= BOUNDED_LEDGER_ROWS ? boundedTasks : tasks;
  const readsLedger = processors.length > 0 && ledgerExists('partitions');
  if (readsLedger)
    ledgerTasks.push({
      reads: partitionsTable,
      // Its fingerprints and run ids, then its rows as numbers.
      queries: 2,
      run: async (connection) => void (ledger = await readLedgerColumns(connection, reader, processors)),
    });
  if (processors.length > 0 && ledgerExists('failures') && ledgerExists('partitions'))
    ledgerTasks.push({
      reads: `the ledger table ${reader.ledgerSchema}.failures`,
      run: async (connection) => void ({ failures, checkFailures } = await readFailures(connection, reader, processors)),
    });
  const recordedTable = ledgerExists('source_versions') ? ledgerTable(reader.ledgerSchema, 'source_versions') : undefined;
  const entries = new Map(groups.map((group) => [ledgerKeyOfGroup(group, reader.byTable), group.partitions]));
  const requests: InventoryRequest[] = existing.map((node) => ({
    node,
    kind: node.kind === 'processor' ? 'processor' : pendingVersions.has(node.name) ? 'pending' : 'hashed',
    ...(node.kind === 'processor' ? { expected: entries.get(ledgerKeyOf(node, reader.byTable)) ?? 0 } : {}),
  }));
  // Processors and sources in separate groups: a processors-only query returns half the columns.
  const inventoryGroups = [requests.filter((r) => r.kind === 'processor'), requests.filter((r) => r.kind !== 'processor')].flatMap((list) =>
    Array.from({ length: Math.ceil(list.length / TABLES_PER_QUERY) }, (_, k) => list.slice(k * TABLES_PER_QUERY, (k + 1) * TABLES_PER_QUERY)),
  );
  const unreadable = new Map<string, string>();
  for (const group of inventoryGroups) {
    const bounded = boundProcessors && group.every((request) => request.kind === 'processor');
    (bounded ? boundedTasks : tasks).push({
      reads: group.map(({ node }) => tableReads(node)).join(', '),
      run: async (connection, underBound = false) => {
        const slices = await readInventoryGroup(connection, group, recordedTable, tableReads, underBound);
        for (const [i, request] of group.entries()) {
          const slice = slices[i] as InventorySlice | TableReadError;
          if (!(slice instanceof TableReadError)) {
            inventories.set(request.node.name, slice);
            continue;
          }
          // The calendar decides every expected partition: without it there is nothing to plan.
          if (reader.unreadable === 'throw' || request.node.name === pipeline.calendar) throw slice;
          unreadable.set(request.node.name, snapshotError(reader, slice.reads, slice.cause).message);
        }
      },
    });
  }
  const again = await readBounded(reader, boundedTasks);
  for (const task of [...boundedTasks, ...tasks, ...again]) queries += task.queries ?? 1;
  await runSideBySide(reader, [...tasks, ...again]);
  // No version of an unreadable source can be computed: its readers fail before they would need one.
  for (const name of unreadable.keys()) pendingVersions.delete(name);

  // Every node column-wise; the Map forms are views of the columns (core/snapshot-columns.ts).
  const owners = ownerRanges(ledger, ledgerKeys.length);
  const ownerOf = new Map(processors.map((node, i) => [node.name, owners[i] as [number, number]]));
  const tables = new Map<string, TableInventory>();
  const ledgerViews = new Map<string, LedgerView>();
  const columns = new Map<string, PartitionColumns>();
  for (const node of nodes) {
    if (unreadable.has(node.name)) {
      tables.set(node.name, { exists: false, partitions: new Map() });
      continue;
    }
    const inventory = inventories.get(node.name);
    const [from, to] = ownerOf.get(node.name) ?? [0, 0];
    const nodeColumns = mergeColumns(inventory, ledger, from, to, node.kind === 'source' ? sourceVersionAt : undefined);
    columns.set(node.name, nodeColumns);
    tables.set(node.name, inventory ? { exists: true, partitions: new InventoryView(nodeColumns) } : { exists: false, partitions: new Map() });
    if (to > from) ledgerViews.set(node.name, new LedgerView(nodeColumns));
  }
  const identity = ledgerIdentity(pipeline, groups, reader.byTable);
  return {
    calendar: calendarDays(pipeline, tables),
    tables,
    ledger: ledgerViews,
    failures,
    checkFailures,
    pendingVersions,
    columns,
    ...(unreadable.size > 0 ? { unreadable } : {}),
    ...identity,
    ...(reader.byTable ? {} : { olderLedgerVersion: 1 }),
    stats: { queries },
  };
}

const EMPTY_LEDGER: LedgerColumns = {
  owner: new Float64Array(),
  days: new Float64Array(),
  builtAt: new Float64Array(),
  rows: new Float64Array(),
  code: new Float64Array(),
  run: new Float64Array(),
  codes: [],
  runs: [],
};

/** What an inventory query of one table reads, as a failure names it. */
function tableReads(node: PipelineNode): string {
  return `table ${tableName(node.table)} (${node.kind} ${node.name})`;
}

/** A hashed source row's version (sourceVersion's format); '' for a source whose versions are pending. */
function sourceVersionAt(slice: InventorySlice, i: number): string {
  const high = slice.high[i] as number;
  return Number.isNaN(high) ? '' : sourceVersion(high, slice.low[i] as number, slice.rows[i] as number);
}

/**
 * Runs the tasks on the connections, one at a time each. A failing task stops the others from taking
 * new work and interrupts the pool's running queries, and EVERY running task is awaited before the
 * error is thrown: the caller closes the pool next, and closing a connection under a running query
 * hangs or crashes the process. The error names what the failed query read.
 */
async function runSideBySide(reader: SnapshotReader, tasks: readonly Task[]): Promise<void> {
  let next = 0;
  let failed: { task: Task; error: unknown } | undefined;
  const connections = [reader.main, ...reader.pool];
  await Promise.all(
    connections.map(async (connection) => {
      for (let task = tasks[next++]; task && !failed; task = tasks[next++]) {
        try {
          await task.run(connection);
        } catch (error) {
          if (failed) continue; // interrupted because another task failed first
          failed = { task, error };
          // Pool connections are closed right after this; the main one is left alone so no
          // interrupt can linger on it.
          for (const other of reader.pool) if (other !== connection) other.interrupt();
        }
      }
    }),
  );
  if (failed) {
    const { task, error } = failed;
    throw error instanceof TableReadError ? snapshotError(reader, error.reads, error.cause) : snapshotError(reader, task.reads, error);
  }
}

/**
 * Runs the tasks side by side in a bounded buffer pool and returns those that ran out of memory
 * there, to be run again unbounded.
 */
async function readBounded(reader: SnapshotReader, tasks: readonly Task[]): Promise<Task[]> {
  const again: Task[] = [];
  if (tasks.length === 0 || reader.bounded === undefined) return [...tasks];
  const deferring = tasks.map(
    (task): Task => ({
      reads: task.reads,
      run: async (connection) => {
        try {
          await task.run(connection, true);
        } catch (error) {
          if (!isOutOfMemory(error)) throw error;
          again.push(task);
        }
      },
    }),
  );
  await reader.bounded(() => runSideBySide(reader, deferring));
  return again;
}

/** Runs one query on main, turning its failure into the same error as a pool task's. */
async function readOrFail<T>(reads: string, reader: SnapshotReader, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw snapshotError(reader, reads, error);
  }
}

/** A failed snapshot query as a typed error: the ledger's is 'bad-ledger', any other table's 'bad-table'. */
function snapshotError(reader: SnapshotReader, reads: string, error: unknown): WarehouseError {
  const ledger = reads.startsWith('the ledger');
  return new WarehouseError(
    ledger ? 'bad-ledger' : 'bad-table',
    `cannot read ${reads} in target '${reader.targetName}': ${firstLine(error)}`,
    ledger
      ? 'the ledger is damaged: restore it from a backup, or drop its schema to start over (dag then takes every existing partition as built outside dag)'
      : 'fix the table or view in the DuckDB file (a view over a file that was moved or deleted?), or its entry in pipeline.yaml',
  );
}

/**
 * Sources whose versions no plan over these nodes needs: on DuckDB a source partition's version only
 * decides whether a reader partition that dag built (a ledger entry) is stale, so while no processor
 * reading the source has one, hashing the source's content can wait for the run (recordSourceVersions),
 * where it overlaps the first batches instead of delaying the plan.
 */
function sourcesWithoutLedgeredReaders(nodes: readonly PipelineNode[], groups: readonly LedgerNames[], byTable: boolean): Set<string> {
  const ledgered = new Set(groups.map((group) => ledgerKeyOfGroup(group, byTable)));
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const hasEntries = (name: string): boolean => {
    const node = byName.get(name);
    return node !== undefined && ledgered.has(ledgerKeyOf(node, byTable));
  };
  return new Set([...readersBySource(nodes)].filter(([, readers]) => !readers.some(hasEntries)).map(([source]) => source));
}

/** A source partition's version: its content hash (two exact halves) and row count. */
export function sourceVersion(high: number, low: number, rows: number): string {
  return `${high}.${low}:${rows}`;
}

/** `schema.table` → column name → data type. */
function columnTypesByTable(columns: unknown[][]): Map<string, Map<string, string>> {
  const [schemaNames = [], tableNames = [], columnNames = [], dataTypes = []] = columns;
  const tables = new Map<string, Map<string, string>>();
  for (let i = 0; i < schemaNames.length; i++) {
    const key = `${String(schemaNames[i])}.${String(tableNames[i])}`;
    let table = tables.get(key);
    if (!table) tables.set(key, (table = new Map()));
    table.set(String(columnNames[i]), String(dataTypes[i]));
  }
  return tables;
}

/** True when the table exists with a usable partition column; throws WarehouseError('bad-table') when it is unusable. */
function checkPartitionColumn(node: PipelineNode, columns: Map<string, string> | undefined): boolean {
  if (!columns) return false;
  const type = columns.get(node.partitionColumn);
  const where = `table ${tableName(node.table)} (${node.kind} ${node.name})`;
  if (type === undefined)
    throw new WarehouseError(
      'bad-table',
      `${where} has no partition column '${node.partitionColumn}'; it has: ${[...columns.keys()].join(', ')}`,
      "set partition_column in pipeline.yaml to the table's DATE column",
    );
  if (type !== 'DATE')
    throw new WarehouseError(
      'bad-table',
      `${where}: partition column '${node.partitionColumn}' is ${type}, not DATE`,
      `store it as a DATE (e.g. ALTER TABLE ... ALTER ${node.partitionColumn} TYPE DATE) or point partition_column at a DATE column`,
    );
  return true;
}

/**
 * The same versions as text computed by DuckDB (sourceVersion's format: integers print alike in both),
 * for recording versions without reading them into JS first: columns day, version.
 */
export function sourceVersionsSql(node: PipelineNode): string {
  const column = `t.${quoteIdent(node.partitionColumn)}`;
  const [high, low] = hashHalves('sum(hash(t))');
  return `SELECT ${column} AS partition_date, (${high})::VARCHAR || '.' || (${low})::VARCHAR || ':' || count(*)::VARCHAR AS version FROM ${qualifiedTable(node.table)} AS t WHERE ${column} IS NOT NULL GROUP BY 1`;
}
