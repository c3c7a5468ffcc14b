import type { BatchJob, BatchOutcome } from '../port.js';
import type { SerialConnection } from './connection.js';
export async function runSqlBatch(_c: SerialConnection, _l: string, _job: BatchJob, _signal: AbortSignal): Promise<BatchOutcome> {
  return { ok: false, failure: { category: 'PROCESSOR_ERROR', message: 'duckdb sql batches are not built yet' } };
}
