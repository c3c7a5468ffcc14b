/**
 * A SQL batch on DuckDB, in ONE transaction: the SELECT's columns are checked against the table (bound,
 * not run) and the table altered as on_schema_change allows (schema-change.ts), its rows replace
 * partitions start..end BY NAME, rows that fall outside start..end fail the batch, and the ledger rows
 * are written with the COMMIT. A crash, an error or an interrupt before COMMIT leaves the old partitions,
 * the old columns and the old ledger untouched (DuckDB's ALTER TABLE is transactional). Four round trips
 * per batch: statements that need no answer in between travel together, and the rows are written once.
 * A batch with checks (DESIGN §9) is written the same way and its checks run with the count, over the
 * rows just written, before the COMMIT; only when an error check fails (or a check cannot run) is the
 * transaction rolled back and the batch re-written the careful way, without its failing days.
 */
import { formatDay, type Day } from '../../core/dates.js';
import { readsItself, tableName, type ProcessorAction } from '../../core/model.js';
import { CheckedSelects } from '../checked-selects.js';
import { KeyedQueue } from '../keyed-queue.js';
import {
  done,
  failed,
  type BatchJob,
  type CheckFinding,
  type FailureCategory,
  type InputFingerprints,
  type JobFailure,
  type RowCounts,
  type StagedBatch,
  type Step,
} from '../port.js';
import { decideSchemaChange, partitionColumnProblem, type Column, type SchemaChange } from '../schema-change.js';
import { batchLabel, firstLine, renderBatchTemplate } from '../shared.js';
import {
  batchRows,
  checkedWriteStatements,
  countedChecksQuery,
  findingStatements,
  inBatch,
  outsideBatch,
  readFindings,
  rowCountFindings,
  runEachCheck,
  samplesQuery,
  stagedCountStatement,
  stageStatements,
  stagingTable,
} from './checks.js';
import { classifyDuckdbError, duckdbFailure, type SerialConnection } from './connection.js';
import { partitionRow, replacePartitionRows } from './ledger.js';
import { CATALOG, dateLiteral, dayExpression, qualifiedTable, quoteIdent, quoteString } from './sql.js';
import { DUCKDB_TYPES } from './types.js';

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

/** The table's schema changes as DuckDB statements; they run inside the batch's transaction. */
export function alterStatements(job: BatchJob, changes: readonly SchemaChange[]): string[] {
  const table = qualifiedTable(job.processor.table);
  return changes.map((change) =>
    change.kind === 'add'
      ? `ALTER TABLE ${table} ADD COLUMN ${quoteIdent(change.column.name)} ${change.column.type}`
      : `ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(change.name)} SET DATA TYPE ${change.to}`,
  );
}

/**
 * Opens the transaction, alters the table, and writes the SELECT's rows in place of partitions
 * start..end, by column name (a column the SELECT does not yield gets NULL).
 */
export function writeStatements(job: BatchJob, select: string, tableExists: boolean, changes: readonly SchemaChange[] = []): string[] {
  const table = qualifiedTable(job.processor.table);
  return [
    'BEGIN TRANSACTION',
    ...alterStatements(job, changes),
    ...(tableExists
      ? [`DELETE FROM ${table} WHERE ${quoteIdent(job.processor.partitionColumn)} ${inBatch(job)}`, `INSERT INTO ${table} BY NAME ${select}`]
      : [`CREATE TABLE ${table} AS ${select}`]),
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
  return tableExists ? inside : `${inside} UNION ALL SELECT NULL, count(*)::DOUBLE FROM ${table} WHERE ${outsideBatch(job, column)}`;
}

/**
 * countStatement with every check's offending count, in one query over the rows just written
 * (checks.ts countedChecksQuery): the counts' rows have a NULL dag_check, a new table's rows outside
 * start..end come as one more with a NULL day. Inside the transaction, so the rows checked are the
 * rows the COMMIT makes visible; a clean batch's checks add no rows to the answer.
 */
export function checkedCountStatement(job: BatchJob, tableExists: boolean): string {
  const table = qualifiedTable(job.processor.table);
  const column = quoteIdent(job.processor.partitionColumn);
  const outside = `SELECT NULL::INTEGER, NULL::INTEGER, count(*)::DOUBLE, NULL::BIGINT, NULL::VARCHAR FROM ${table} WHERE ${outsideBatch(job, column)}`;
  return countedChecksQuery(job, tableExists ? undefined : outside);
}

/**
 * The batch's ledger rows (every day of the batch, 0 rows for days without any) and its check
 * findings, then COMMIT. Days an error check failed (`findings`) keep their old ledger rows.
 */
export function commitStatements(
  job: BatchJob,
  rowsByDay: RowCounts,
  fingerprints: InputFingerprints,
  ledgerSchema: string,
  findings: readonly CheckFinding[] = [],
): string[] {
  const failed = failedDays(findings);
  const days = job.batch.days.filter((day) => !failed.includes(day));
  const ledgerRows = days.map((day) => partitionRow(job, day, rowsByDay.get(day) ?? 0, fingerprints.get(day) ?? ''));
  const dates = failed.length === 0 ? inBatch(job) : `${inBatch(job)} AND partition_date NOT IN (${failed.map(dateLiteral).join(', ')})`;
  return [...replacePartitionRows(ledgerSchema, job.processor.table, dates, ledgerRows), ...findingStatements(ledgerSchema, job, findings), 'COMMIT'];
}

/** The days an `error` finding keeps out of the commit, ascending. */
export function failedDays(findings: readonly CheckFinding[]): Day[] {
  return [...new Set(findings.filter((f) => f.severity === 'error').map((f) => f.day))].sort((a, b) => a - b);
}

/** Where the SELECT's rows fall outside start..end, for the failure message (runs the SELECT again). */
function outsideStatement(job: BatchJob, select: string): string {
  const column = quoteIdent(job.processor.partitionColumn);
  return `SELECT ${dayExpression(column)}, count(*)::DOUBLE FROM (${select}) AS dag_rows WHERE ${outsideBatch(job, column)} GROUP BY 1`;
}

/** A failure decided by the adapter (not thrown by DuckDB). */
class BatchError extends Error {
  constructor(
    readonly category: FailureCategory,
    message: string,
    readonly dataIndependent?: true,
  ) {
    super(message);
  }

  static of(failure: JobFailure): BatchError {
    return new BatchError(failure.category, failure.message, failure.dataIndependent);
  }
}

/**
 * SELECTs whose columns fit their table after a committed batch of this process (checked-selects.ts).
 * A batch that must create or alter its table does so holding the table's turn in `queue`: DuckDB
 * aborts a write beside an ALTER, and two batches creating one table conflict. Batches of a SELECT
 * that fits the table as it is need no turn (they all see the same table and the same columns).
 * `version` counts the creations and alterations committed per table, so a batch that waited for its
 * turn knows whether what it saw before still holds.
 */
export class CheckedColumns extends CheckedSelects<true> {
  readonly queue = new KeyedQueue();
  private readonly versions = new Map<string, number>();

  version(table: string): number {
    return this.versions.get(table) ?? 0;
  }

  changed(table: string): void {
    this.versions.set(table, this.version(table) + 1);
  }
}

/** What the write does to the table: create it (`exists` false), or alter it first (`changes`). */
interface TablePlan {
  readonly exists: boolean;
  readonly changes: readonly SchemaChange[];
}

const FITS: TablePlan = { exists: true, changes: [] };
const changesTable = (plan: TablePlan): boolean => !plan.exists || plan.changes.length > 0;

/**
 * Runs the batch up to its commit: columns checked, the table created or altered, rows written, rows
 * outside start..end refused. The staged batch holds `connection` (its open transaction) until it is
 * committed or discarded; a batch that creates or alters its table also holds the table's turn in
 * `checks.queue` until then (nobody else writes the table beside its uncommitted ALTER).
 */
export async function stageSqlBatch(
  connection: SerialConnection,
  ledgerSchema: string,
  job: BatchJob,
  signal: AbortSignal,
  checks: CheckedColumns,
): Promise<Step<StagedBatch>> {
  const { action } = job.processor;
  if (action.kind !== 'sql') throw new Error(`${job.processor.name} is not a SQL processor`);
  const key = CheckedSelects.key(job.processor.name, action.text);
  const table = tableName(job.processor.table);
  const seen = checks.version(table);
  const first = await stageOnce(connection, ledgerSchema, job, signal, checks, key, { turn: false });
  if (!('needsTurn' in first)) return first;
  const release = await checks.queue.hold(table);
  const plan = checks.version(table) === seen ? first.needsTurn : undefined;
  const staged = (await stageOnce(connection, ledgerSchema, job, signal, checks, key, { turn: true, plan })) as Step<StagedBatch>;
  if (!staged.ok) {
    release();
    return staged;
  }
  return done({
    findings: staged.value.findings,
    async commit(fingerprints, commitSignal) {
      try {
        return await staged.value.commit(fingerprints, commitSignal);
      } finally {
        release();
      }
    },
    async discard() {
      try {
        await staged.value.discard();
      } finally {
        release();
      }
    },
  });
}

/**
 * One attempt at staging the batch. Without the table's turn, a batch that would create or alter its
 * table writes nothing and answers with what it would do; with the turn it does it (checking again
 * unless `plan` still holds).
 */
async function stageOnce(
  connection: SerialConnection,
  ledgerSchema: string,
  job: BatchJob,
  signal: AbortSignal,
  checks: CheckedColumns,
  key: string,
  step: { readonly turn: boolean; readonly plan?: TablePlan },
): Promise<Step<StagedBatch> | { readonly needsTurn: TablePlan }> {
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
    let plan = checks.has(key) ? FITS : step.plan;
    if (plan === undefined) {
      plan = checkSchema(job, await checked(() => describe(connection, job, select)));
      if (!step.turn && changesTable(plan)) return { needsTurn: plan };
    }
    const { exists, changes } = plan;
    opened = true;
    const onCommitted = (): void => {
      checks.set(key, true);
      if (changesTable(plan)) checks.changed(tableName(job.processor.table));
    };
    const withChecks = job.processor.checks.length > 0;
    const careful = async (): Promise<Step<StagedBatch>> => {
      await connection.run('ROLLBACK');
      return done(await stageChecked(connection, ledgerSchema, job, select, { exists, changes }, checked, onCommitted));
    };
    const written = await checked(() => connection.changes(writeStatements(job, select, exists, changes).join(';\n')));
    let answer: unknown[][];
    try {
      answer = await checked(() => connection.columns(withChecks ? checkedCountStatement(job, exists) : countStatement(job, exists)));
    } catch (error) {
      // A check that cannot run: the careful way runs the checks one by one and names it.
      if (!withChecks || signal.aborted) throw error;
      return await careful();
    }
    const [days = [], counts = []] = withChecks ? answer.slice(1) : answer;
    const rowsByDay = new Map<Day, number>();
    let inside = 0;
    let outside = 0;
    days.forEach((day, i) => {
      if (withChecks && answer[0]?.[i] !== null) return;
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
    const counted = withChecks ? [...readFindings(job, answer), ...rowCountFindings(job, rowsByDay)] : [];
    // An error check failed: its days' old rows are gone from this transaction, so it starts again.
    if (failedDays(counted).length > 0) return await careful();
    // Warnings only: their samples, from the same rows in the same transaction.
    const findings = counted.length === 0 ? counted : readFindings(job, await checked(() => connection.columns(samplesQuery(job, batchRows(job), counted))));
    // The same rows, so no error finding can appear here; should one, the written rows must not commit.
    if (failedDays(findings).length > 0) return await careful();
    const rows = new Map(job.batch.days.map((day) => [day, rowsByDay.get(day) ?? 0]));
    return done(stagedBatch(connection, ledgerSchema, job, rows, onCommitted, findings));
  } catch (error) {
    if (opened) await connection.run('ROLLBACK').catch(() => undefined);
    if (signal.aborted) return failed({ category: 'CANCELLED', message: `${where}: cancelled; the old partitions are kept` });
    if (error instanceof BatchError)
      return failed({ category: error.category, message: `${where}: ${error.message}`, ...(error.dataIndependent ? { dataIndependent: true } : {}) });
    return failed(duckdbFailure(error, `${where}: ${duckdbMessage(error)}${selfReadHint(job, error)}`));
  } finally {
    // Nothing may interrupt the connection once the rows are staged: the COMMIT is not to be cut.
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * The careful way for a batch whose checks failed or could not run in place (DESIGN §9), in a new
 * transaction: the SELECT's rows go to a temporary table once, rows outside start..end are refused as
 * usual, each check runs once over the staged rows (one query each, so that a check that cannot run
 * is named), and only the partitions no error check failed replace the table's. A check that cannot
 * run throws (the caller rolls back): nothing is written. The findings are these checks', over the
 * rows this transaction commits.
 */
async function stageChecked(
  connection: SerialConnection,
  ledgerSchema: string,
  job: BatchJob,
  select: string,
  plan: TablePlan,
  checked: <T>(work: () => Promise<T>) => Promise<T>,
  onCommitted: () => void,
): Promise<StagedBatch> {
  const stage = stagingTable(job);
  await checked(() => connection.run(stageStatements(select, stage, alterStatements(job, plan.changes)).join(';\n')));
  const [days = [], counts = []] = await checked(() => connection.columns(stagedCountStatement(job, stage)));
  const rowsByDay = new Map<Day, number>();
  const outside: number[] = [];
  for (const [i, day] of days.entries()) {
    if (day === null) outside.push(Number(counts[i] ?? 0));
    else rowsByDay.set(day as number, Number(counts[i] ?? 0));
  }
  if (outside.length > 0) {
    await connection.run('ROLLBACK');
    const [badDays = [], badCounts = []] = await checked(() => connection.columns(outsideStatement(job, select)));
    throw outOfRange(job, badDays as (number | null)[], badCounts as number[]);
  }
  const found = await checked(() => runEachCheck(connection, job, stage));
  if (!found.ok) throw BatchError.of(found.failure);
  const failed = failedDays(found.value);
  await checked(() => connection.run(checkedWriteStatements(job, stage, plan.exists, failed).join(';\n')));
  const rows = new Map(job.batch.days.filter((day) => !failed.includes(day)).map((day) => [day, rowsByDay.get(day) ?? 0]));
  return stagedBatch(connection, ledgerSchema, job, rows, onCommitted, found.value);
}

/** The ledger rows go in with the COMMIT; a COMMIT that fails leaves the old partitions and ledger. */
function stagedBatch(
  connection: SerialConnection,
  ledgerSchema: string,
  job: BatchJob,
  rows: RowCounts,
  onCommitted: () => void,
  findings: readonly CheckFinding[] = [],
): StagedBatch {
  let open = true;
  return {
    findings,
    async commit(fingerprints) {
      open = false;
      try {
        await connection.run(commitStatements(job, rows, fingerprints, ledgerSchema, findings).join(';\n'));
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

/**
 * The SELECT's columns and the table's (none: it does not exist yet), from one bound-not-run query. A
 * SELECT that does not bind (a missing column or table, bad SQL) fails every batch alike: data-independent.
 */
async function describe(connection: SerialConnection, job: BatchJob, select: string): Promise<{ selected: Column[]; existing: Column[] }> {
  let answer: unknown[][];
  try {
    answer = await connection.columns(columnsStatement(job, select));
  } catch (error) {
    if (classifyDuckdbError(error) !== 'PROCESSOR_ERROR') throw error;
    throw new BatchError('PROCESSOR_ERROR', `${duckdbMessage(error)}${selfReadHint(job, error)}`, true);
  }
  const [fromSelect = [], names = [], types = []] = answer;
  const selected: Column[] = [];
  const existing: Column[] = [];
  names.forEach((name, i) => {
    (fromSelect[i] ? selected : existing).push({ name: String(name), type: String(types[i]) });
  });
  return { selected, existing };
}

/** What the write must do to the table, or the refusal (thrown) when on_schema_change does not allow it. */
function checkSchema(job: BatchJob, columns: { selected: Column[]; existing: Column[] }): TablePlan {
  const problem = partitionColumnProblem(job.processor, columns.selected, DUCKDB_TYPES);
  if (problem) throw BatchError.of(problem);
  const decision = decideSchemaChange(job.processor, columns.existing, columns.selected, DUCKDB_TYPES);
  if (!decision.ok) throw BatchError.of(decision.failure);
  return { exists: columns.existing.length > 0, changes: decision.changes };
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
  return new BatchError(
    'OUT_OF_RANGE_ROWS',
    `${parts.join(' and ')}; the SELECT must yield only rows for {{ start_date }}..{{ end_date }}; nothing was written`,
  );
}

/** DuckDB's message, without the caret diagram after the first few lines. */
function duckdbMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines.length <= 3 ? lines.join(' | ') : firstLine(error);
}
