/**
 * `dag validate`'s one look beyond the file: when the default target is a DuckDB file that exists, it
 * opens it read-only and reports ledger rows recorded under names the pipeline no longer has (and a
 * ledger it cannot read) as warnings. BigQuery targets, and DuckDB files not created yet, stay
 * file-only: validate runs in CI, without credentials or a warehouse.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseYamlDocument } from '../config/document.js';
import { UserError, type Diagnostic } from '../core/diagnostics.js';
import type { Pipeline } from '../core/model.js';
import { openWarehouse } from '../warehouse/open.js';
import { WarehouseError, type Warehouse } from '../warehouse/port.js';
import { ledgerWarnings } from './ledger-warnings.js';

export async function ledgerDiagnostics(pipeline: Pipeline, shownFile: string, env: Readonly<Record<string, string | undefined>>): Promise<Diagnostic[]> {
  const target = pipeline.targets.get(pipeline.defaultTarget);
  if (target?.type !== 'duckdb' || !existsSync(target.path)) return [];
  const at = positions(pipeline.file, shownFile);
  let warehouse: Warehouse | undefined;
  try {
    warehouse = await openWarehouse(pipeline, target.name, { env, readOnly: true });
    // Only the ledger: with no node and no calendar the snapshot reads no table.
    const snapshot = await warehouse.readSnapshot({ ...pipeline, calendar: undefined }, []);
    return ledgerWarnings(pipeline, snapshot, target.name, target.ledgerSchema).map((w) => ({
      code: w.code,
      severity: 'warning',
      message: w.message,
      file: shownFile,
      ...at(w.processor),
      hint: w.hint,
    }));
  } catch (error) {
    if (!(error instanceof UserError) && !(error instanceof WarehouseError)) throw error;
    const message = `could not check the ledger of target '${target.name}': ${error.message}`;
    return [
      {
        code: 'ledger-unreadable',
        severity: 'warning',
        message,
        file: shownFile,
        line: 0,
        column: 0,
        ...(error.hint !== undefined ? { hint: error.hint } : {}),
      },
    ];
  } finally {
    await warehouse?.close();
  }
}

/** Where a processor's `table:` is in a YAML pipeline file (line 0 for other files or no processor). */
function positions(file: string, shownFile: string): (processor: string | undefined) => { line: number; column: number } {
  const none = { line: 0, column: 0 };
  if (!/\.ya?ml$/i.test(file)) return () => none;
  let parsed: ReturnType<typeof parseYamlDocument> | undefined;
  return (processor) => {
    if (processor === undefined) return none;
    parsed ??= parseYamlDocument(file, shownFile, readFileSync(file, 'utf8'));
    return parsed.ok ? parsed.document.position(['processors', processor, 'table'], 'value') : none;
  };
}
