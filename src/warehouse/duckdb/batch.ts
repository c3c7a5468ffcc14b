/**
 * A SQL batch on DuckDB, in ONE transaction: the SELECT's columns are checked (bound, not run), its
 * rows replace partitions start..end, rows that fall outside start..end fail the batch, and the ledger
 * rows are written with the COMMIT. A crash, an error or an interrupt before COMMIT leaves the old
 * partitions and the old ledger untouched. Four round trips per batch: statements that need no answer
 * in between travel together, and the rows are written once (no staging copy).
 */
import { formatDay, type Day } from '../../core/dates.js';
import { readsItself, tableName, type ProcessorAction } from '../../core/model.js';
import { done, failed, type BatchJob, type FailureCategory, type InputFingerprints, type RowCounts, type StagedBatch, type Step } from '../port.js';
import { batchLabel, firstLine, renderBatchTemplate } from '../shared.js';
import { duckdbFailure, type SerialConnection } from './connection.js';
import { partitionRow, replacePartitionRows } from './ledger.js';
import { CATALOG, dateLiteral, dayExpression, qualifiedTable, quoteIdent, quoteString } from './sql.js';

type SqlAction = Extract<ProcessorAction, { kind: 'sql' }>;

/** The SELECT with its templates rendered: typed DATE literals and fully qualified table names. */
export function renderBatchSelect(job: BatchJob, action: SqlAction): string {
  const sql = renderBatchTemplate(job, action.text, {
    dateLiteral,
    table: qualifiedTable,
    unknownRef: (name) => {
      throw new BatchError('PROCESSOR_ERROR', `${action.file}: ref('${name}') names no source or processor of the pipeline`, true);
    },
  });
  // Rendered without a trailing semicolon or line comment: either would break the wrapping subquery.
  return `SELECT * FROM (\n${sql}\n) AS dag_select`;
}

/** The SELECT's columns (DESCRIBE binds it without running it), then the table's current ones. */
function columnsStatement(job: BatchJob, select: string): string {
  const { schema, name } = job.processor.table;
  return `SELECT true, column_name, column_type FROM (DESCRIBE ${select}) UNION ALL SELECT false, column_name, data_type FROM (SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ${quoteString(CATALOG)} AND schema_name = ${quoteString(schema)} AND table_name = ${quoteString(name)} ORDER BY column_index)`;
}

const inBatch = (job: BatchJob): string => `BETWEEN ${dateLiteral(job.batch.start)} AND ${dateLiteral(job.batch.end)}`;

/** Opens the transaction and writes the SELECT's rows in place of partitions start..end. */
export function writeStatements(job: BatchJob, select: string, tableExists: boolean): string[] {
  const table = qualifiedTable(job.processor.table);
  return [
    'BEGIN TRANSACTION',
    ...(tableExists ? [`DELETE FROM ${table} WHERE ${quoteIdent(job.processor.partitionColumn)} ${inBatch(job)}`, `INSERT INTO ${table} BY NAME ${select}`] : [`CREATE TABLE ${table} AS ${select}`]),
  ];
}

/**
 * Rows per day in start..end after the write. A new table holds only the batch's rows, so its rows
 * outside start..end come back as one extra row with a NULL day; for an existing table the caller
 * compares the sum with the number of rows the INSERT wrote.
 */
export function countStatement(job: BatchJob, tableExists: boolean): string {
  const table = qualifiedTable(job.processor.table);
  const column = quoteIdent(job.processor.partitionColumn);
  const inside = `SELECT ${dayExpression(column)}, count(*)::DOUBLE FROM ${table} WHERE ${column} ${inBatch(job)} GROUP BY 1`;
  return tableExists ? inside : `${inside} UNION ALL SELECT NULL, count(*)::DOUBLE FROM ${table} WHERE ${column} IS NULL OR ${column} NOT ${inBatch(job)}`;
}

/** The batch's ledger rows (every day of the batch, 0 rows for days without any), then COMMIT. */
export function commitStatements(job: BatchJob, rowsByDay: RowCounts, fingerprints: InputFingerprints, ledgerSchema: string): string[] {
  const ledgerRows = job.batch.days.map((day) => partitionRow(job, day, rowsByDay.get(day) ?? 0, fingerprints.get(day) ?? ''));
  return [...replacePartitionRows(ledgerSchema, job.processor.name, inBatch(job), ledgerRows), 'COMMIT'];
}

/** Where the SELECT's rows fall outside start..end, for the failure message (runs the SELECT again). */
function outsideStatement(job: BatchJob, select: string): string {
  const column = quoteIdent(job.processor.partitionColumn);
  return `SELECT ${dayExpression(column)}, count(*)::DOUBLE FROM (${select}) AS dag_rows WHERE ${column} IS NULL OR ${column} NOT ${inBatch(job)} GROUP BY 1`;
}

/** A failure decided by the adapter (not thrown by DuckDB). */
class BatchError extends Error {
  constructor(
    readonly category: FailureCategory,
    message: string,
    readonly dataIndependent = false,
  ) {
    super(message);
  }
}

/**
 * Processors (by name and SQL template) whose SELECT's columns matched their table in an earlier
 * batch of this process: the table exists and, as dag holds the target's lock, still has those columns,
 * and every batch of a processor binds to the same columns (only date literals differ). Their batches
 * skip the check.
 */
export type CheckedColumns = Set<string>;

/**
 * Runs the batch up to its commit: columns checked, rows written, rows outside start..end refused.
 * The staged batch holds `connection` (its open transaction) until it is committed or discarded.
 */
export async function stageSqlBatch(connection: SerialConnection, ledgerSchema: string, job: BatchJob, signal: AbortSignal, checkedColumns: CheckedColumns): Promise<Step<StagedBatch>> {
  const where = batchLabel(job);
  if (signal.aborted) return failed({ category: 'CANCELLED', message: `${where}: cancelled before it started` });
  const onAbort = (): void => connection.interrupt();
  signal.addEventListener('abort', onAbort, { once: true });
  let opened = false;
  const checked = <T>(work: () => Promise<T>): Promise<T> => {
    if (signal.aborted) throw new BatchError('CANCELLED', 'cancelled');
    return work();
  };
  try {
    const { action } = job.processor;
    if (action.kind !== 'sql') throw new Error(`${job.processor.name} is not a SQL processor`);
    const select = renderBatchSelect(job, action);
    const key = `${job.processor.name}\u0000${action.text}`;
    let exists = checkedColumns.has(key);
    if (!exists) {
      const [fromSelect = [], names = [], types = []] = await checked(() => connection.columns(columnsStatement(job, select)));
      const selectColumns = new Map<string, string>();
      const tableColumns: string[] = [];
      names.forEach((name, i) => (fromSelect[i] ? selectColumns.set(String(name), String(types[i])) : tableColumns.push(String(name))));
      checkColumns(job, selectColumns, tableColumns);
      exists = tableColumns.length > 0;
    }
    opened = true;
    const written = await checked(() => connection.changes(writeStatements(job, select, exists).join(';\n')));
    const [days = [], counts = []] = await checked(() => connection.columns(countStatement(job, exists)));
    const rowsByDay = new Map<Day, number>();
    let inside = 0;
    let outside = 0;
    days.forEach((day, i) => {
      const count = Number(counts[i] ?? 0);
      if (day === null) outside += count;
      else {
        rowsByDay.set(day as number, count);
        inside += count;
      }
    });
    if (exists) outside = written - inside;
    if (outside > 0) {
      await connection.run('ROLLBACK');
      opened = false;
      const [badDays = [], badCounts = []] = await checked(() => connection.columns(outsideStatement(job, select)));
      throw outOfRange(job, badDays as (number | null)[], badCounts as number[]);
    }
    const rows = new Map(job.batch.days.map((day) => [day, rowsByDay.get(day) ?? 0]));
    return done(stagedBatch(connection, ledgerSchema, job, rows, () => checkedColumns.add(key)));
  } catch (error) {
    if (opened) await connection.run('ROLLBACK').catch(() => undefined);
    if (signal.aborted) return failed({ category: 'CANCELLED', message: `${where}: cancelled; the old partitions are kept` });
    if (error instanceof BatchError) return failed({ category: error.category, message: `${where}: ${error.message}`, ...(error.dataIndependent ? { dataIndependent: true } : {}) });
    return failed(duckdbFailure(error, `${where}: ${duckdbMessage(error)}${selfReadHint(job, error)}`));
  } finally {
    // Nothing may interrupt the connection once the rows are staged: the COMMIT is not to be cut.
    signal.removeEventListener('abort', onAbort);
  }
}

/** The ledger rows go in with the COMMIT; a COMMIT that fails leaves the old partitions and ledger. */
function stagedBatch(connection: SerialConnection, ledgerSchema: string, job: BatchJob, rows: RowCounts, onCommitted: () => void): StagedBatch {
  let open = true;
  return {
    async commit(fingerprints) {
      open = false;
      try {
        await connection.run(commitStatements(job, rows, fingerprints, ledgerSchema).join(';\n'));
      } catch (error) {
        await connection.run('ROLLBACK').catch(() => undefined);
        return failed(duckdbFailure(error, `${batchLabel(job)}: committing failed: ${duckdbMessage(error)}`));
      }
      onCommitted();
      return done(rows);
    },
    async discard() {
      if (!open) return;
      open = false;
      await connection.run('ROLLBACK').catch(() => undefined);
    },
  };
}

/**
 * A processor that reads its own earlier partitions through {{ this }} cannot be typed from its SELECT
 * before its table exists (the SELECT needs the table's columns): say how to start the series.
 */
function selfReadHint(job: BatchJob, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const { processor } = job;
  if (!readsItself(processor) || !/does not exist/.test(message) || !message.includes(processor.table.name)) return '';
  return ` — ${processor.name} reads its own earlier partitions, so its table must exist before its first batch: create it once (CREATE TABLE ${tableName(processor.table)} (...)) with the columns its SELECT yields, then run again`;
}

function checkColumns(job: BatchJob, selected: ReadonlyMap<string, string>, existing: readonly string[]): void {
  const column = job.processor.partitionColumn;
  const type = selected.get(column);
  if (type === undefined)
    throw new BatchError('PROCESSOR_ERROR', `the SELECT yields no column '${column}' (the partition column); it yields: ${[...selected.keys()].join(', ')}`, true);
  if (type !== 'DATE') throw new BatchError('PROCESSOR_ERROR', `the SELECT's '${column}' is ${type}, not DATE; cast it (${column}::DATE)`, true);
  if (existing.length === 0) return;
  const lower = (names: Iterable<string>): Set<string> => new Set([...names].map((name) => name.toLowerCase()));
  const have = lower(existing);
  const want = lower(selected.keys());
  const added = [...want].filter((name) => !have.has(name));
  const dropped = [...have].filter((name) => !want.has(name));
  if (added.length > 0 || dropped.length > 0)
    throw new BatchError(
      'PROCESSOR_ERROR',
      `the SELECT's columns differ from table ${tableName(job.processor.table)}'s (${[
        added.length > 0 ? `new: ${added.join(', ')}` : '',
        dropped.length > 0 ? `gone: ${dropped.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ')}); dag never alters a table: drop or migrate ${tableName(job.processor.table)} yourself, then rebuild it`,
      true,
    );
}

/** The OUT_OF_RANGE_ROWS failure: how many rows fell outside start..end or had no date, with examples. */
function outOfRange(job: BatchJob, days: readonly (number | null)[], counts: readonly number[]): BatchError {
  let outside = 0;
  let nulls = 0;
  const examples: string[] = [];
  days.forEach((day, i) => {
    const count = counts[i] ?? 0;
    if (day === null) nulls += count;
    else {
      outside += count;
      if (examples.length < 3) examples.push(formatDay(day));
    }
  });
  const parts = [
    outside > 0 ? `${outside} row(s) dated outside the batch (e.g. ${examples.sort().join(', ')})` : '',
    nulls > 0 ? `${nulls} row(s) with a NULL ${job.processor.partitionColumn}` : '',
  ].filter(Boolean);
  // The SELECT ran twice; should the second run disagree with the first, the count still stands.
  if (parts.length === 0) parts.push('rows dated outside the batch');
  return new BatchError('OUT_OF_RANGE_ROWS', `${parts.join(' and ')}; the SELECT must yield only rows for {{ start_date }}..{{ end_date }}; nothing was written`);
}

/** DuckDB's message, without the caret diagram after the first few lines. */
function duckdbMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines.length <= 3 ? lines.join(' | ') : firstLine(error);
}
