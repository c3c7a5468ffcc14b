/**
 * Data checks on BigQuery (DESIGN §9): inside a SQL batch's script, after its rows are staged in
 * `_dag_rows` and before its transaction, one query per check fills `_dag_findings` (per offending
 * partition: the count and up to five rows as JSON); the transaction then writes only the partitions
 * no error check failed, and the findings to `_dag.checks`. After a command, the same queries run
 * over the table's batch range.
 */
import type { Day } from '../../core/dates.js';
import { parseIsoDate } from '../../core/dates.js';
import type { BigqueryTarget, Check, CheckRule, CheckSeverity } from '../../core/model.js';
import type { BatchJob, CheckFinding } from '../port.js';
import { renderBatchTemplate } from '../shared.js';
import { column, dateLiteral, ledgerTable, qualified, type BatchChecksSql } from './sql.js';

const SAMPLE_ROWS = 5;
const SAMPLE_CHARS = 400;

function literal(value: string | number | boolean): string {
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  return String(value);
}

/** The offending rows of one rule, as a SELECT over `rows` that yields the partition column. */
function offendingRows(target: BigqueryTarget, job: BatchJob, rule: CheckRule, rows: string): string {
  const pc = column(job.processor.partitionColumn);
  switch (rule.kind) {
    case 'not_null':
      return `SELECT * FROM ${rows} WHERE ${rule.columns.map((c) => `${column(c)} IS NULL`).join(' OR ')}`;
    case 'unique': {
      const keys = [job.processor.partitionColumn, ...rule.columns.filter((c) => c !== job.processor.partitionColumn)].map(column);
      return `SELECT ${keys.join(', ')}, COUNT(*) AS copies FROM ${rows} GROUP BY ${keys.join(', ')} HAVING COUNT(*) > 1`;
    }
    case 'row_count': {
      const bounds = [rule.min === undefined ? '' : `COUNT(r.${pc}) < ${rule.min}`, rule.max === undefined ? '' : `COUNT(r.${pc}) > ${rule.max}`].filter(
        Boolean,
      );
      const days = job.batch.days.map((day) => `SELECT ${dateLiteral(day)} AS day`).join(' UNION ALL ');
      return `SELECT d.day AS ${pc}, COUNT(r.${pc}) AS \`rows\` FROM (${days}) AS d LEFT JOIN ${rows} AS r ON r.${pc} = d.day GROUP BY d.day HAVING ${bounds.join(' OR ')}`;
    }
    case 'accepted_values':
      return `SELECT * FROM ${rows} WHERE ${column(rule.column)} IS NOT NULL AND ${column(rule.column)} NOT IN (${rule.values.map(literal).join(', ')})`;
    case 'relationships': {
      const to = job.pipeline.nodes.get(rule.to);
      if (!to) throw new Error(`${rule.to} is not in the pipeline`); // validate refuses it
      const upc = column(to.partitionColumn);
      return `SELECT r.* FROM ${rows} AS r WHERE r.${column(rule.column)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${qualified(target.project, to.table)} AS u WHERE u.${upc} BETWEEN ${dateLiteral(job.batch.start)} AND ${dateLiteral(job.batch.end)} AND u.${upc} = r.${pc} AND u.${column(rule.field)} = r.${column(rule.column)})`;
    }
    case 'sql':
      return renderBatchTemplate(job, rule.text, {
        dateLiteral,
        table: (table) => qualified(target.project, table),
        self: rows,
        unknownRef: (name) => {
          throw new Error(`${rule.file}: ref('${name}') names no source or processor of the pipeline`);
        },
      });
  }
}

/** One check's findings as rows (check_name, severity, partition_date, offending, sample), at most five per partition. */
function checkQuery(target: BigqueryTarget, job: BatchJob, check: Check, rows: string): string {
  const pc = `o.${column(job.processor.partitionColumn)}`;
  const name = literal(check.name);
  return `SELECT check_name, severity, partition_date, offending, sample FROM (SELECT ${name} AS check_name, '${check.severity}' AS severity, ${pc} AS partition_date, COUNT(*) OVER (PARTITION BY ${pc}) AS offending, ROW_NUMBER() OVER (PARTITION BY ${pc}) AS dag_rank, TO_JSON_STRING(o) AS sample FROM (\n${offendingRows(target, job, check.rule, rows)}\n) AS o WHERE ${pc} BETWEEN ${dateLiteral(job.batch.start)} AND ${dateLiteral(job.batch.end)}) WHERE dag_rank <= ${SAMPLE_ROWS}`;
}

/** Every check of the processor over `rows`, as one UNION ALL: each check is read once. */
export function findingsSelect(target: BigqueryTarget, job: BatchJob, rows: string): string {
  return job.processor.checks.map((check) => checkQuery(target, job, check, rows)).join('\nUNION ALL\n');
}

/** The script's statements: stage the findings (before the transaction), then the days they keep out. */
export function stageFindingsSql(target: BigqueryTarget, job: BatchJob): string {
  return `CREATE TEMP TABLE _dag_findings AS\n${findingsSelect(target, job, '_dag_rows')}\n;`;
}

/** Inside the transaction: the findings into `_dag.checks` (params @run_id, @processor, @built_at). */
export function recordFindingsSql(project: string, ledgerDataset: string, from = '_dag_findings'): string {
  return [
    `INSERT INTO ${ledgerTable(project, ledgerDataset, 'checks')} (run_id, processor, partition_date, check_name, severity, offending_rows, samples, checked_at)`,
    `SELECT @run_id, @processor, partition_date, check_name, severity, MAX(offending), CONCAT('[', STRING_AGG(sample, ', '), ']'), TIMESTAMP_MILLIS(@built_at)`,
    `FROM ${from} GROUP BY partition_date, check_name, severity;`,
  ].join('\n');
}

/** A batch's checks for its script. */
export function batchChecksSql(target: BigqueryTarget, job: BatchJob): BatchChecksSql | undefined {
  if (job.processor.checks.length === 0) return undefined;
  return { findings: stageFindingsSql(target, job), record: recordFindingsSql(target.project, target.ledgerSchema) };
}

/** Rows of a findings result (check_name, severity, partition_date, offending, sample) as findings. */
export function findingsOf(rows: readonly Record<string, unknown>[]): CheckFinding[] {
  const byKey = new Map<string, CheckFinding & { samples: string[] }>();
  for (const row of rows) {
    const day = parseIsoDate(dateText(row.partition_date)) as Day | undefined;
    if (day === undefined) continue;
    const check = String(row.check_name);
    const key = `${check}\u0000${day}`;
    let finding = byKey.get(key);
    if (!finding) byKey.set(key, (finding = { check, severity: String(row.severity) as CheckSeverity, day, offending: Number(row.offending), samples: [] }));
    const sample = String(row.sample);
    finding.samples.push(sample.length <= SAMPLE_CHARS ? sample : JSON.stringify(`${sample.slice(0, SAMPLE_CHARS)}…`));
  }
  return [...byKey.values()];
}

/** A DATE as the client returns it (a BigQueryDate with `value`, or text). */
function dateText(value: unknown): string {
  if (value && typeof value === 'object' && 'value' in value) return String((value as { value: unknown }).value);
  return String(value).slice(0, 10);
}
