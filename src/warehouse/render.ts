/**
 * `dag render`: the SELECT a SQL batch runs, rendered by the target's own adapter with the very
 * function its batches call (DuckDB: duckdb/batch.ts renderBatchSelect; BigQuery: bigquery/batch.ts
 * renderSelect), so what render prints is what a run executes. No connection is needed.
 */
import type { Target } from '../core/model.js';
import type { BatchJob } from './port.js';

export async function renderBatchSql(target: Target, job: BatchJob): Promise<string> {
  const { action } = job.processor;
  if (action.kind !== 'sql') throw new Error(`${job.processor.name} is not a SQL processor`);
  switch (target.type) {
    case 'duckdb': {
      const { renderBatchSelect } = await import('./duckdb/batch.js');
      return renderBatchSelect(job, action);
    }
    case 'bigquery': {
      const { renderSelect } = await import('./bigquery/batch.js');
      return renderSelect(target, job, action.text);
    }
  }
}
