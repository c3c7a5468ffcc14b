/**
 * `dag run --full-refresh` on DuckDB: the processor's table and its ledger rows go in one transaction
 * (DuckDB's DDL is transactional), so a crash leaves either both or neither. Ledger rows go by name and
 * by table (a renamed processor's older rows too). Without its ledger rows no
 * partition of the processor is taken as present: the rebuild sees every one missing.
 */
import { tableName, type Processor } from '../../core/model.js';
import { ledgerTable, qualifiedTable, quoteString } from './sql.js';

export function dropProcessorStatements(ledgerSchema: string, processor: Processor): string[] {
  return [
    'BEGIN TRANSACTION',
    `DROP TABLE IF EXISTS ${qualifiedTable(processor.table)}`,
    `DELETE FROM ${ledgerTable(ledgerSchema, 'partitions')} WHERE processor = ${quoteString(processor.name)} OR table_name = ${quoteString(tableName(processor.table))}`,
    'COMMIT',
  ];
}
