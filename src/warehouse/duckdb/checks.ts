/**
 * Data checks on DuckDB (DESIGN §9): every check of a batch in one query, over a relation holding the
 * batch's rows (the table's batch range inside a SQL batch's transaction, the staged rows of a batch
 * being re-written without its failing days, or the table's batch range after a command). Each check
 * answers, per partition with offending rows, their count and up to five of them as JSON; the checks
 * travel as one UNION ALL, so a batch pays one round trip for its checks whatever their number or the
 * batch's length, and a clean batch's checks yield no rows at all. In place (countedChecksQuery) the
 * checks first only count, in the query that counts the batch's rows; samples are read when needed.
 */
import type { Day } from '../../core/dates.js';
import type { Check, CheckRule } from '../../core/model.js';
import { done, failed, type BatchJob, type CheckFinding, type Step } from '../port.js';
import { firstLine, renderBatchTemplate } from '../shared.js';
import { duckdbFailure, type SerialConnection } from './connection.js';
import { dateLiteral, dayExpression, ledgerTable, qualifiedTable, quoteIdent, quoteString, timestampLiteral } from './sql.js';

export const SAMPLE_ROWS = 5;

function literal(value: string | number | boolean): string {
  if (typeof value === 'string') return quoteString(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  return String(value);
}

/** `BETWEEN start AND end` of the batch, for a partition column. */
export const inBatch = (job: BatchJob): string => `BETWEEN ${dateLiteral(job.batch.start)} AND ${dateLiteral(job.batch.end)}`;

/** The condition of a row outside the batch: `column` (quoted) NULL or not in start..end. */
export const outsideBatch = (job: BatchJob, column: string): string => `${column} IS NULL OR ${column} NOT ${inBatch(job)}`;

/** The rows of `job`'s table in the batch's range (inside the batch's transaction, the rows just written). */
export const batchRows = (job: BatchJob): string =>
  `(SELECT * FROM ${qualifiedTable(job.processor.table)} WHERE ${quoteIdent(job.processor.partitionColumn)} ${inBatch(job)})`;

/** A rule that looks at one row at a time (not_null, accepted_values): the condition of an offending row. */
function rowCondition(rule: CheckRule): string | undefined {
  if (rule.kind === 'not_null') return rule.columns.map((c) => `${quoteIdent(c)} IS NULL`).join(' OR ');
  if (rule.kind === 'accepted_values')
    return `${quoteIdent(rule.column)} IS NOT NULL AND ${quoteIdent(rule.column)} NOT IN (${rule.values.map(literal).join(', ')})`;
  return undefined;
}

/** The offending rows of one rule, as a SELECT over `rows` that yields the partition column. */
function offendingRows(job: BatchJob, rule: CheckRule, rows: string): string {
  const pc = quoteIdent(job.processor.partitionColumn);
  switch (rule.kind) {
    case 'not_null':
    case 'accepted_values':
      return `SELECT * FROM ${rows} WHERE ${rowCondition(rule)}`;
    case 'unique': {
      const keys = [job.processor.partitionColumn, ...rule.columns.filter((c) => c !== job.processor.partitionColumn)].map(quoteIdent);
      return `SELECT ${keys.join(', ')}, count(*) AS copies FROM ${rows} GROUP BY ${keys.join(', ')} HAVING count(*) > 1`;
    }
    case 'row_count': {
      const bounds = [rule.min === undefined ? '' : `coalesce(c.n, 0) < ${rule.min}`, rule.max === undefined ? '' : `coalesce(c.n, 0) > ${rule.max}`].filter(
        Boolean,
      );
      const days = job.batch.days.map(dateLiteral).join(', ');
      // Counted per day first, then joined with the batch's days: a join of a few dozen rows.
      return `SELECT d.day AS ${pc}, coalesce(c.n, 0) AS "rows" FROM unnest([${days}]) AS d(day) LEFT JOIN (SELECT ${pc}, count(*) AS n FROM ${rows} GROUP BY ${pc}) AS c ON c.${pc} = d.day WHERE ${bounds.join(' OR ')}`;
    }
    case 'relationships': {
      const to = job.pipeline.nodes.get(rule.to);
      if (!to) throw new Error(`${rule.to} is not in the pipeline`); // validate refuses it
      const upc = quoteIdent(to.partitionColumn);
      // An anti join with the upstream's batch range (NOT EXISTS with the same equalities, planned cheaper).
      const upstream = `(SELECT * FROM ${qualifiedTable(to.table)} WHERE ${upc} ${inBatch(job)})`;
      return `SELECT r.* FROM ${rows} AS r ANTI JOIN ${upstream} AS u ON u.${upc} = r.${pc} AND u.${quoteIdent(rule.field)} = r.${quoteIdent(rule.column)} WHERE r.${quoteIdent(rule.column)} IS NOT NULL`;
    }
    case 'sql':
      return renderBatchTemplate(job, rule.text, {
        dateLiteral,
        table: qualifiedTable,
        self: rows,
        unknownRef: (name) => {
          throw new Error(`${rule.file}: ref('${name}') names no source or processor of the pipeline`);
        },
      });
  }
}

/** A check's offending rows within the batch, as `o`: the FROM of checkRows and checkCounts. */
function offendingInBatch(job: BatchJob, check: Check, rows: string, pc: string): string {
  return `FROM (\n${offendingRows(job, check.rule, rows)}\n) AS o WHERE ${pc} ${inBatch(job)}`;
}

/**
 * One check's offending partitions: per partition its day, the count, and up to five sample rows (JSON),
 * as rows (dag_check, day, offending, dag_rank, sample) where dag_check is the check's index.
 */
function checkRows(job: BatchJob, check: Check, index: number, rows: string): string {
  const pc = `o.${quoteIdent(job.processor.partitionColumn)}`;
  return `SELECT ${index}::INTEGER AS dag_check, day, offending, dag_rank, sample FROM (SELECT ${dayExpression(pc)} AS day, (count(*) OVER (PARTITION BY ${pc}))::DOUBLE AS offending, row_number() OVER (PARTITION BY ${pc}) AS dag_rank, to_json(o)::VARCHAR AS sample ${offendingInBatch(job, check, rows, pc)}) WHERE dag_rank <= ${SAMPLE_ROWS}`;
}

/** One check's offending partitions with their counts only (no samples, NULL dag_rank and sample): cheaper. */
function checkCounts(job: BatchJob, check: Check, index: number, rows: string): string {
  const pc = `o.${quoteIdent(job.processor.partitionColumn)}`;
  return `SELECT ${index}::INTEGER AS dag_check, ${dayExpression(pc)} AS day, count(*)::DOUBLE AS offending, NULL::BIGINT AS dag_rank, NULL::VARCHAR AS sample ${offendingInBatch(job, check, rows, pc)} GROUP BY ${pc}`;
}

/** The columns of every check's rows (checkRows, checkCounts), for a query that puts other rows beside them. */
const CHECK_COLUMNS = 'dag_check, day, offending, dag_rank, sample';
/** Findings in check order, then day, then sample. */
const CHECK_ORDER = 'ORDER BY dag_check, day, dag_rank';

/**
 * The batch's rows per day and every check's offending rows per day, counted (no samples), in one
 * query over the processor's table, whose rows in start..end are the batch's: the checks that look at one row at a
 * time are counted by the scan that counts the rows, row_count is decided from those counts
 * (rowCountFindings), and the others (unique, relationships, sql) are one branch each. The answer
 * (CHECK_COLUMNS, CHECK_ORDER): (NULL, day, rows) per day with rows, (check index, day, offending)
 * per offending day, and the rows of `extra`, a branch of the caller's in the same columns.
 */
export function countedChecksQuery(job: BatchJob, extra?: string): string {
  const table = qualifiedTable(job.processor.table);
  const pc = quoteIdent(job.processor.partitionColumn);
  const within = `${pc} ${inBatch(job)}`;
  const perRow = job.processor.checks.flatMap((check, index) => {
    const condition = rowCondition(check.rule);
    return condition === undefined ? [] : [{ index, condition }];
  });
  const counts = ['count(*)::DOUBLE', ...perRow.map(({ condition }) => `count_if(${condition})::DOUBLE`)].map((count, k) => `${count} AS dag_${k}`);
  // One row per day and count, unnested side by side: the rows (dag_check NULL), then each check's.
  const perDay = `SELECT unnest([NULL::INTEGER${perRow.map(({ index }) => `, ${index}`).join('')}]) AS dag_check, day, unnest([${counts.map((_, k) => `dag_${k}`).join(', ')}]) AS offending FROM (SELECT ${dayExpression(pc)} AS day, ${counts.join(', ')} FROM ${table} WHERE ${within} GROUP BY 1)`;
  const counted = `SELECT dag_check, day, offending, NULL::BIGINT AS dag_rank, NULL::VARCHAR AS sample FROM (${perDay}) WHERE dag_check IS NULL OR offending > 0`;
  const others = job.processor.checks.flatMap((check, i) =>
    rowCondition(check.rule) !== undefined || check.rule.kind === 'row_count' ? [] : [checkCounts(job, check, i, batchRows(job))],
  );
  return `SELECT ${CHECK_COLUMNS} FROM (${[counted, ...others, ...(extra === undefined ? [] : [extra])].join('\nUNION ALL\n')})\n${CHECK_ORDER}`;
}

/** The row_count checks' findings from the batch's rows per day (a day without rows has 0), as their query finds them. */
export function rowCountFindings(job: BatchJob, rowsByDay: ReadonlyMap<Day, number>): CheckFinding[] {
  return job.processor.checks.flatMap((check) => {
    const { rule } = check;
    if (rule.kind !== 'row_count') return [];
    return job.batch.days.flatMap((day) => {
      const rows = rowsByDay.get(day) ?? 0;
      const offends = (rule.min !== undefined && rows < rule.min) || (rule.max !== undefined && rows > rule.max);
      return offends ? [{ check: check.name, severity: check.severity, day, offending: 1, samples: [] }] : [];
    });
  });
}

/** The findings of `found` (from counts only) again, with their samples: one query over the checks that found rows. */
export function samplesQuery(job: BatchJob, rows: string, found: readonly CheckFinding[]): string {
  const names = new Set(found.map((f) => f.check));
  const branches = job.processor.checks.flatMap((check, i) => (names.has(check.name) ? [checkRows(job, check, i, rows)] : []));
  return `${branches.join('\nUNION ALL\n')}\n${CHECK_ORDER}`;
}

/**
 * The findings in an answer's columns (dag_check, day, offending, dag_rank, sample; CHECK_ORDER),
 * skipping rows whose dag_check is NULL (rows of another kind the query put beside them).
 */
export function readFindings(job: BatchJob, answer: readonly (readonly unknown[])[]): CheckFinding[] {
  const [indices = [], days = [], counts = [], , samples = []] = answer;
  const findings: (CheckFinding & { samples: string[] })[] = [];
  indices.forEach((index, i) => {
    if (index === null) return;
    const check = job.processor.checks[Number(index)];
    if (!check) throw new Error(`check #${String(index)} is not one of ${job.processor.name}'s`);
    const day = days[i] as Day;
    let finding = findings.at(-1);
    if (!finding || finding.check !== check.name || finding.day !== day) {
      finding = { check: check.name, severity: check.severity, day, offending: Number(counts[i] ?? 0), samples: [] };
      findings.push(finding);
    }
    if (samples[i] !== null && samples[i] !== undefined) finding.samples.push(shortSample(String(samples[i])));
  });
  return findings;
}

/**
 * Runs every check of the processor over `rows` in one query and returns the findings. When that query
 * fails, the checks run one by one (runEachCheck) to name the check at fault: so only outside a
 * transaction, or where the failure has not aborted it (see stageChecked in batch.ts).
 */
export async function runChecks(connection: SerialConnection, job: BatchJob, rows: string): Promise<Step<CheckFinding[]>> {
  if (job.processor.checks.length === 0) return done([]);
  try {
    const union = job.processor.checks.map((check, i) => checkRows(job, check, i, rows)).join('\nUNION ALL\n');
    return done(readFindings(job, await connection.columns(`${union}\n${CHECK_ORDER}`)));
  } catch {
    return runEachCheck(connection, job, rows);
  }
}

/**
 * Runs the checks one query each; the findings, or the failure of the first check that could not run
 * (a binder error — unknown column, bad SQL — is data-independent, as duckdbFailure says).
 */
export async function runEachCheck(connection: SerialConnection, job: BatchJob, rows: string): Promise<Step<CheckFinding[]>> {
  const findings: CheckFinding[] = [];
  for (const [i, check] of job.processor.checks.entries()) {
    try {
      findings.push(...readFindings(job, await connection.columns(`${checkRows(job, check, i, rows)}\n${CHECK_ORDER}`)));
    } catch (error) {
      return failed(duckdbFailure(error, `check ${check.name} could not run: ${checkProblem(job, check, error)}`));
    }
  }
  return done(findings);
}

/** Sample rows longer than this are cut (as a JSON string ending in …): they go into messages and `_dag.checks`. */
const SAMPLE_CHARS = 400;

function shortSample(json: string): string {
  return json.length <= SAMPLE_CHARS ? json : JSON.stringify(`${json.slice(0, SAMPLE_CHARS)}…`);
}

/**
 * The temporary table holding a checked batch's rows until its commit. Temporary tables belong to
 * one connection, which runs one batch at a time, and a rollback drops it: a name per batch suffices.
 */
export function stagingTable(job: BatchJob): string {
  return `temp.main.${quoteIdent(`dag_checked_${job.processor.name}_${job.batch.start}`)}`;
}

/**
 * A checked batch's statements, in its transaction: stage the SELECT's rows (after the table's
 * alterations), then — once the checks ran — write the partitions no error check failed, and drop
 * the staged rows. `failed` partitions keep their old rows.
 */
export function stageStatements(select: string, stage: string, alters: readonly string[]): string[] {
  return ['BEGIN TRANSACTION', ...alters, `CREATE TEMP TABLE ${stage.slice('temp.main.'.length)} AS ${select}`];
}

export function checkedWriteStatements(job: BatchJob, stage: string, tableExists: boolean, failed: readonly Day[]): string[] {
  const table = qualifiedTable(job.processor.table);
  const pc = quoteIdent(job.processor.partitionColumn);
  const kept = failed.length === 0 ? '' : ` AND ${pc} NOT IN (${failed.map(dateLiteral).join(', ')})`;
  const clean = failed.length === 0 ? '' : ` WHERE ${pc} NOT IN (${failed.map(dateLiteral).join(', ')})`;
  return [
    ...(tableExists
      ? [`DELETE FROM ${table} WHERE ${pc} ${inBatch(job)}${kept}`, `INSERT INTO ${table} BY NAME SELECT * FROM ${stage}${clean}`]
      : [`CREATE TABLE ${table} AS SELECT * FROM ${stage}${clean}`]),
    `DROP TABLE ${stage}`,
  ];
}

/** Rows per day of the staged rows; rows outside start..end (or without a date) come back under a NULL day. */
export function stagedCountStatement(job: BatchJob, stage: string): string {
  const pc = quoteIdent(job.processor.partitionColumn);
  return `SELECT CASE WHEN ${pc} ${inBatch(job)} THEN ${dayExpression(pc)} END, count(*)::DOUBLE FROM ${stage} GROUP BY 1`;
}

/** `_dag.checks` rows of a batch's findings, as one INSERT (none without findings). */
export function findingStatements(ledgerSchema: string, job: BatchJob, findings: readonly CheckFinding[]): string[] {
  if (findings.length === 0) return [];
  const values = findings.map(
    (f) =>
      `(${quoteString(job.runId)}, ${quoteString(job.processor.name)}, ${dateLiteral(f.day)}, ${quoteString(f.check)}, ${quoteString(f.severity)}, ${Math.trunc(f.offending)}, ${quoteString(`[${f.samples.join(', ')}]`)}, ${timestampLiteral(job.builtAt)})`,
  );
  return [
    `INSERT INTO ${ledgerTable(ledgerSchema, 'checks')} (run_id, processor, partition_date, check_name, severity, offending_rows, samples, checked_at) VALUES ${values.join(', ')}`,
  ];
}

/** DuckDB's message, with what to do when a sql check does not yield the partition column. */
function checkProblem(job: BatchJob, check: Check, error: unknown): string {
  const message = firstLine(error);
  const pc = job.processor.partitionColumn;
  if (check.rule.kind === 'sql' && /Binder Error/.test(message) && message.includes(`"${pc}"`))
    return `${message} — a sql check must return ${job.processor.name}'s partition column ${pc} (that is how dag knows which partitions offend)`;
  return message;
}
