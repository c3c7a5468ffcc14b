/**
 * Table-level transaction conflicts, as BigQuery has them: "If a transaction mutates (updates or
 * deletes) rows in a table, then other transactions or DML statements that mutate rows in the same
 * table cannot run concurrently. Conflicting transactions are cancelled."
 * (https://cloud.google.com/bigquery/docs/transactions#transaction_concurrency). DuckDB only
 * conflicts on the same rows; here a transaction that UPDATEs, DELETEs, MERGEs or TRUNCATEs a table
 * is aborted at COMMIT when another transaction that mutated the same table committed after it
 * began (the later commit loses). INSERT-only transactions never conflict. DML outside a transaction
 * is not modelled (BigQuery queues it).
 */
import { BigqueryLikeError } from './translate.js';

export interface OpenTransaction {
  readonly start: number;
  readonly mutated: Set<string>;
}

export class TransactionConflicts {
  private sequence = 0;
  /** Table (`dataset.table`) → sequence number of the last committed transaction that mutated it. */
  private readonly committed = new Map<string, number>();

  begin(): OpenTransaction {
    return { start: this.sequence, mutated: new Set() };
  }

  /** Checks and records a commit in one synchronous step (no other commit can come between). */
  commit(transaction: OpenTransaction, project: string): void {
    for (const table of transaction.mutated) {
      if ((this.committed.get(table) ?? -1) > transaction.start)
        throw new BigqueryLikeError(400, 'invalidQuery', `Transaction is aborted due to concurrent update against table ${project}:${table}.`);
    }
    const sequence = ++this.sequence;
    for (const table of transaction.mutated) this.committed.set(table, sequence);
  }
}

/** UPDATE / DELETE / MERGE / TRUNCATE: the statements that make a transaction conflict. */
export function isMutation(statement: string): boolean {
  return /^\s*(UPDATE|DELETE|MERGE|TRUNCATE)\b/i.test(statement);
}
