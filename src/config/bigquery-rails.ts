/**
 * What BigQuery would reject on every job, caught when the file is read (issue 12): label keys and
 * values BigQuery refuses (each job would fail `invalid`, a PROCESSOR_ERROR nothing fixes), and a
 * `batch_size` above the 4,000 partitions one job may modify (the batch would fail after its SELECT
 * was billed). Both apply only when the pipeline has a BigQuery target.
 */
import type { Target } from '../core/model.js';
import { CODES } from './codes.js';
import { isRecord, valueAt } from './document.js';
import type { Reporter } from './report.js';

/**
 * Label keys: 1–63 characters, lowercase letters (international ones too), digits, `_` and `-`,
 * starting with a lowercase letter; values: 0–63 of the same characters
 * (https://cloud.google.com/bigquery/docs/labels-intro#requirements).
 */
const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
/** dag's own labels on every job (bigquery/jobs.ts): a target label under one of these keys would be overwritten. */
const DAG_LABELS = ['dag', 'dag_run_id', 'dag_processor'];
/** "A resource can have up to 64 labels" (same page), dag's own included. */
const MAX_LABELS = 64;
/** "Number of partitions modified by a single job: 4,000" (https://cloud.google.com/bigquery/quotas#partitioned_tables). */
export const BIGQUERY_PARTITIONS_PER_JOB = 4_000;

const RULE = 'BigQuery label keys are 1-63 lowercase letters, digits, _ or -, starting with a letter; values 0-63 of the same';

export function checkBigqueryLabels(top: Record<string, unknown>, report: Reporter): void {
  if (!isRecord(top.targets)) return;
  for (const [name, raw] of Object.entries(top.targets)) {
    if (!isRecord(raw) || raw.type !== 'bigquery' || !isRecord(raw.labels)) continue;
    const labels = Object.entries(raw.labels);
    for (const [key, value] of labels) {
      const path = ['targets', name, 'labels', key];
      if (DAG_LABELS.includes(key))
        report.error(
          CODES.invalidLabel,
          path,
          'key',
          `target ${name}: label ${key} is one dag sets on every job itself`,
          `rename it; dag's own labels are ${DAG_LABELS.join(', ')}`,
        );
      else if (!LABEL_KEY.test(key))
        report.error(
          CODES.invalidLabel,
          path,
          'key',
          `target ${name}: label key '${key}' is not one BigQuery accepts; every job would fail`,
          `${RULE}, e.g. ${suggestion(key) || 'team'}`,
        );
      else if (typeof value === 'string' && !LABEL_VALUE.test(value))
        report.error(
          CODES.invalidLabel,
          path,
          'value',
          `target ${name}: label ${key} has the value '${value}', which BigQuery does not accept; every job would fail`,
          `${RULE}, e.g. ${suggestion(value)}`,
        );
    }
    if (labels.length + DAG_LABELS.length > MAX_LABELS)
      report.error(
        CODES.invalidLabel,
        ['targets', name, 'labels'],
        'key',
        `target ${name} has ${labels.length} labels; with dag's ${DAG_LABELS.length} a job would carry more than BigQuery's ${MAX_LABELS}`,
        `keep at most ${MAX_LABELS - DAG_LABELS.length} labels`,
      );
  }
}

/** The text lowercased, other characters as `_`, cut to 63: what the user probably meant. */
function suggestion(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{Ll}\p{Lo}\p{N}_-]/gu, '_')
    .slice(0, 63);
}

export function checkBigqueryBatchSize(top: Record<string, unknown>, targets: ReadonlyMap<string, Target>, report: Reporter): void {
  const bigquery = [...targets.values()].filter((t) => t.type === 'bigquery').map((t) => t.name);
  if (bigquery.length === 0) return;
  const which = `target${bigquery.length === 1 ? '' : 's'} ${bigquery.join(', ')}`;
  const places: { path: string[]; owner: string }[] = [{ path: ['defaults', 'batch_size'], owner: 'defaults' }];
  if (isRecord(top.processors))
    for (const name of Object.keys(top.processors)) places.push({ path: ['processors', name, 'batch_size'], owner: `processor ${name}` });
  for (const { path, owner } of places) {
    const value = valueAt(top, path);
    if (typeof value !== 'number' || value <= BIGQUERY_PARTITIONS_PER_JOB) continue;
    report.error(
      CODES.batchSizeTooLarge,
      path,
      'value',
      `${owner}: batch_size ${value} is more than the ${BIGQUERY_PARTITIONS_PER_JOB.toLocaleString('en-US')} partitions one BigQuery job may modify (${which}); such a batch fails after its SELECT was billed`,
      `write batch_size: ${BIGQUERY_PARTITIONS_PER_JOB} or less`,
    );
  }
}
