/**
 * A SQL batch on DuckDB: the SELECT is staged into a temp table, checked, and swapped in for partitions
 * start..end together with their ledger rows, in ONE transaction. A crash, an error or an interrupt
 * before COMMIT leaves the old partitions and the old ledger untouched.
 */
import { formatDay, type Day } from '../../core/dates.js';
import { parseTemplate, renderTemplate, withoutStatementEnd } from '../../core/template.js';
import { readsItself, tableName } from '../../core/model.js';
import type { BatchJob, BatchOutcome, FailureCategory } from '../port.js';
import { firstLine } from '../shared.js';
import type { SerialConnection } from './connection.js';
import { partitionRow, replacePartitionRows } from './ledger.js';
import { CATALOG, dateLiteral, dayExpression, qualifiedTable, quoteIdent, quoteString } from './sql.js';

const STAGE = 'temp.main.dag_stage';

/** The SELECT with its templates rendered: typed DATE literals and fully qualified table names. */
export function renderBatchSelect(job: BatchJob): string {
  const action = job.processor.action;
  if (action.kind !== 'sql') throw new Error(`${job.processor.name} is not a SQL processor`);
  const sql = renderTemplate(parseTemplate(action.text), {
    startDate: dateLiteral(job.batch.start),
    endDate: dateLiteral(job.batch.end),
    self: qualifiedTable(job.processor.table),
    ref: (name) => {
      const node = job.pipeline.nodes.get(name);
      if (!node) throw new BatchError('PROCESSOR_ERROR', `${action.file}: ref('${name}') names no source or processor of the pipeline`);
      return qualifiedTable(node.table);
    },
  });
  // A trailing semicolon or line comment would break the wrapping subquery.
  return withoutStatementEnd(sql);
}

export function stageStatement(select: string): string {
  return `CREATE OR REPLACE TEMP TABLE dag_stage AS SELECT * FROM (\n${select}\n) AS dag_select`;
}

function columnsStatement(job: BatchJob): string {
  const { schema, name } = job.processor.table;
  return `SELECT database_name = 'temp', column_name, data_type FROM duckdb_columns() WHERE (database_name = 'temp' AND schema_name = 'main' AND table_name = 'dag_stage') OR (database_name = ${quoteString(CATALOG)} AND schema_name = ${quoteString(schema)} AND table_name = ${quoteString(name)}) ORDER BY column_index`;
}

function stagedDaysStatement(job: BatchJob): string {
  return `SELECT ${dayExpression(quoteIdent(job.processor.partitionColumn))}, count(*)::DOUBLE FROM ${STAGE} GROUP BY 1`;
}

/** Statements that replace the partitions and write their ledger rows (after the checks passed). */
export function swapStatements(job: BatchJob, tableExists: boolean, rowsByDay: ReadonlyMap<Day, number>, ledgerSchema: string): string[] {
  const { processor, batch } = job;
  const table = qualifiedTable(processor.table);
  const column = quoteIdent(processor.partitionColumn);
  const range = `BETWEEN ${dateLiteral(batch.start)} AND ${dateLiteral(batch.end)}`;
  const ledgerRows = batch.days.map((day) => partitionRow(job, day, rowsByDay.get(day) ?? 0));
  return [
    ...(tableExists ? [`DELETE FROM ${table} WHERE ${column} ${range}`, `INSERT INTO ${table} BY NAME SELECT * FROM ${STAGE}`] : [`CREATE TABLE ${table} AS SELECT * FROM ${STAGE}`]),
    ...replacePartitionRows(ledgerSchema, processor.name, range, ledgerRows),
    `DROP TABLE ${STAGE}`,
  ];
}

/** A failure decided by the adapter (not thrown by DuckDB). */
class BatchError extends Error {
  constructor(
    readonly category: FailureCategory,
    message: string,
  ) {
    super(message);
  }
}

export async function runSqlBatch(connection: SerialConnection, ledgerSchema: string, job: BatchJob, signal: AbortSignal): Promise<BatchOutcome> {
  const where = `${job.processor.name} ${formatDay(job.batch.start)}..${formatDay(job.batch.end)}`;
  if (signal.aborted) return { ok: false, failure: { category: 'CANCELLED', message: `${where}: cancelled before it started` } };
  job.onStarted?.();
  const onAbort = (): void => connection.interrupt();
  signal.addEventListener('abort', onAbort, { once: true });
  let committed = false;
  const run = async (sql: string): Promise<void> => {
    if (signal.aborted) throw new BatchError('CANCELLED', 'cancelled');
    await connection.run(sql);
  };
  const query = async (sql: string): Promise<unknown[][]> => {
    if (signal.aborted) throw new BatchError('CANCELLED', 'cancelled');
    return connection.columns(sql);
  };
  try {
    const select = renderBatchSelect(job);
    await run('BEGIN TRANSACTION');
    await run(stageStatement(select));
    const [staged = [], names = [], types = []] = await query(columnsStatement(job));
    const stagedColumns = new Map<string, string>();
    const tableColumns: string[] = [];
    names.forEach((name, i) => (staged[i] ? stagedColumns.set(String(name), String(types[i])) : tableColumns.push(String(name))));
    checkColumns(job, stagedColumns, tableColumns);
    const [days = [], counts = []] = await query(stagedDaysStatement(job));
    const rowsByDay = checkRange(job, days as (number | null)[], counts as number[]);
    for (const sql of swapStatements(job, tableColumns.length > 0, rowsByDay, ledgerSchema)) await run(sql);
    await run('COMMIT');
    committed = true;
    return { ok: true, rows: new Map(job.batch.days.map((day) => [day, rowsByDay.get(day) ?? 0])), absent: [] };
  } catch (error) {
    if (!committed) await connection.run('ROLLBACK').catch(() => undefined);
    if (signal.aborted) return { ok: false, failure: { category: 'CANCELLED', message: `${where}: cancelled; the old partitions are kept` } };
    if (error instanceof BatchError) return { ok: false, failure: { category: error.category, message: `${where}: ${error.message}` } };
    return { ok: false, failure: { category: classifyDuckdbError(error), message: `${where}: ${duckdbMessage(error)}${selfReadHint(job, error)}` } };
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
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

function checkColumns(job: BatchJob, staged: ReadonlyMap<string, string>, existing: readonly string[]): void {
  const column = job.processor.partitionColumn;
  const type = staged.get(column);
  if (type === undefined)
    throw new BatchError('PROCESSOR_ERROR', `the SELECT yields no column '${column}' (the partition column); it yields: ${[...staged.keys()].join(', ')}`);
  if (type !== 'DATE') throw new BatchError('PROCESSOR_ERROR', `the SELECT's '${column}' is ${type}, not DATE; cast it (${column}::DATE)`);
  if (existing.length === 0) return;
  const lower = (names: Iterable<string>): Set<string> => new Set([...names].map((name) => name.toLowerCase()));
  const have = lower(existing);
  const want = lower(staged.keys());
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
    );
}

/** Rows per day of the staged SELECT; any row outside start..end or without a date fails the batch. */
function checkRange(job: BatchJob, days: readonly (number | null)[], counts: readonly number[]): Map<Day, number> {
  const rows = new Map<Day, number>();
  let outside = 0;
  let nulls = 0;
  const examples: string[] = [];
  days.forEach((day, i) => {
    const count = counts[i] ?? 0;
    if (day === null) nulls += count;
    else if (day < job.batch.start || day > job.batch.end) {
      outside += count;
      if (examples.length < 3) examples.push(formatDay(day));
    } else rows.set(day, count);
  });
  if (outside > 0 || nulls > 0) {
    const parts = [
      outside > 0 ? `${outside} row(s) dated outside the batch (e.g. ${examples.sort().join(', ')})` : '',
      nulls > 0 ? `${nulls} row(s) with a NULL ${job.processor.partitionColumn}` : '',
    ].filter(Boolean);
    throw new BatchError('OUT_OF_RANGE_ROWS', `${parts.join(' and ')}; the SELECT must yield only rows for {{ start_date }}..{{ end_date }}; nothing was written`);
  }
  return rows;
}

/** DuckDB errors start with their class ("Binder Error: ..."); lock, I/O and write conflicts may pass on retry. */
export function classifyDuckdbError(error: unknown): FailureCategory {
  const message = error instanceof Error ? error.message : String(error);
  if (/^INTERRUPT/i.test(message)) return 'CANCELLED';
  if (/^(IO Error|TransactionContext Error|Transaction Error|Out of Memory Error)|[Cc]onflict|Could not set lock/.test(message)) return 'TRANSIENT';
  return 'PROCESSOR_ERROR';
}

/** DuckDB's message, without the caret diagram after the first few lines. */
function duckdbMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines.length <= 3 ? lines.join(' | ') : firstLine(error);
}
