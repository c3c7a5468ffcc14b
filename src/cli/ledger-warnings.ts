/**
 * What a snapshot's ledger identity means for a person: tables whose ledger rows were recorded under
 * another name (a renamed processor), ledger rows no processor owns, and an older ledger read as
 * such. `plan` and `run` print these as warnings; `validate` reports them as diagnostics.
 */
import { tableName, type Pipeline } from '../core/model.js';
import type { OrphanedLedger, Snapshot } from '../core/snapshot.js';

export type LedgerWarningCode = 'ledger-former-name' | 'ledger-orphaned' | 'ledger-older-version' | 'ledger-layout';

export interface LedgerWarning {
  readonly code: LedgerWarningCode;
  /** The processor whose table the warning is about, when there is one (validate points at it). */
  readonly processor?: string;
  readonly message: string;
  readonly hint: string;
}

const PAGE = 'docs/partition-states.md#identity-renamed-and-removed-processors';

/** Every ledger warning of a snapshot, for the pipeline and the target's ledger schema. */
export function ledgerWarnings(pipeline: Pipeline, snapshot: Snapshot, targetName: string, ledgerSchema: string): LedgerWarning[] {
  const warnings: LedgerWarning[] = [];
  const ledger = `${ledgerSchema}.partitions`;
  if (snapshot.olderLedgerVersion !== undefined)
    warnings.push({
      code: 'ledger-older-version',
      message: `the ledger of target '${targetName}' is version ${snapshot.olderLedgerVersion} (from before table identity): it is read by processor name, so a renamed processor's partitions look built outside dag`,
      hint: 'the next `dag run` upgrades it, in one transaction (docs/running.md#the-ledger-versions-and-damage)',
    });
  for (const note of snapshot.ledgerNotes ?? []) warnings.push({ code: 'ledger-layout', ...note });
  for (const processor of pipeline.processors) {
    const names = snapshot.formerNames?.get(processor.name) ?? [];
    if (names.length === 0) continue;
    const table = tableName(processor.table);
    const described = names.map((name) => {
      const other = pipeline.nodes.get(name);
      return other ? `'${name}' (now ${other.kind} ${name} of table ${tableName(other.table)})` : `'${name}'`;
    });
    const gone = names.every((name) => !pipeline.nodes.has(name));
    warnings.push({
      code: 'ledger-former-name',
      processor: processor.name,
      message: `table ${table} (processor ${processor.name}) has ledger rows recorded under ${described.join(', ')}${gone ? `, ${names.length === 1 ? 'a name' : 'names'} pipeline.yaml no longer has` : ''}: ${processor.name} took over their history (partitions whose code is unchanged stay fresh, the others are code_changed)`,
      hint: `if ${names.join(', ')} was renamed to ${processor.name}, nothing is wrong; to record them under ${processor.name} and silence this: UPDATE ${ledger} SET processor = '${processor.name}' WHERE table_name = '${table}'`,
    });
  }
  for (const group of groupByTable(snapshot.orphanedLedger ?? [])) {
    const names = group.names.map((name) => `'${name}'`).join(', ');
    if (group.table !== undefined)
      warnings.push({
        code: 'ledger-orphaned',
        message: `the ledger holds ${group.partitions} partition(s) of table ${group.table} recorded under ${names}, and no processor in pipeline.yaml builds ${group.table}`,
        hint: `if ${group.table} is no longer needed, drop it and delete its ledger rows: DELETE FROM ${ledger} WHERE table_name = '${group.table}'; a processor moved to another table starts that table without history (${PAGE})`,
      });
    else
      warnings.push({
        code: 'ledger-orphaned',
        message: `the ledger holds ${group.partitions} partition(s) recorded under ${names}, ${group.names.length === 1 ? 'a name' : 'names'} pipeline.yaml no longer has, with no table (rows from ledger version 1)`,
        hint:
          snapshot.olderLedgerVersion !== undefined
            ? `after the next \`dag run\` upgrades the ledger they stay without a table; if one was renamed, see ${PAGE}`
            : `if ${names} was renamed, give them the new name and its table (UPDATE ${ledger} SET processor = 'NEW', table_name = 'schema.table' WHERE processor = ${names} AND table_name IS NULL); otherwise delete them (DELETE FROM ${ledger} WHERE processor = ${names} AND table_name IS NULL)`,
      });
  }
  return warnings;
}

/** Orphaned rows by table (rows without a table each by name), names sorted, counts summed. */
function groupByTable(orphans: readonly OrphanedLedger[]): { table: string | undefined; names: string[]; partitions: number }[] {
  const groups = new Map<string, { table: string | undefined; names: string[]; partitions: number }>();
  for (const orphan of orphans) {
    const key = orphan.table === undefined ? `\u0000${orphan.processor}` : orphan.table;
    const group = groups.get(key) ?? { table: orphan.table, names: [], partitions: 0 };
    if (!group.names.includes(orphan.processor)) group.names.push(orphan.processor);
    group.partitions += orphan.partitions;
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => ({ ...g, names: g.names.sort() }));
}
