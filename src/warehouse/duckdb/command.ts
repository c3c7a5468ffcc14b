import type { BatchJob, BatchOutcome, CommandSpawner } from '../port.js';
import type { OpenDatabase } from './connection.js';
export interface ExclusiveAccess {
  readonly path: string;
  readonly ledgerSchema: string;
  readonly current: OpenDatabase;
  close(): void;
  reopen(): Promise<OpenDatabase>;
}
export async function runCommandBatch(_a: ExclusiveAccess, _job: BatchJob, _spawn: CommandSpawner, _signal: AbortSignal): Promise<BatchOutcome> {
  return { ok: false, failure: { category: 'PROCESSOR_ERROR', message: 'duckdb command batches are not built yet' } };
}
