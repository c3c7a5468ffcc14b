/**
 * Schema changes (DESIGN §8), decided the same way for every engine: the columns a batch's SELECT
 * yields against the columns its table has, under the processor's `on_schema_change`. The adapters
 * read both column lists (DuckDB: DESCRIBE; BigQuery: a dry run and tables.get), pass their engine's
 * type rules in, and turn the changes into their own ALTER TABLE statements. No SQL here; the wording of
 * every refusal lives here so both engines say the same thing.
 */
import { tableName, type Processor } from '../core/model.js';
import type { JobFailure } from './port.js';

export interface Column {
  readonly name: string;
  /** The engine's own type name, as its catalog spells it (DuckDB `INTEGER`, BigQuery `INT64`). */
  readonly type: string;
}

/** What the table must become before the batch's rows go in. */
export type SchemaChange =
  | { readonly kind: 'add'; readonly column: Column }
  | { readonly kind: 'widen'; readonly name: string; readonly from: string; readonly to: string };

export interface TypeRules {
  /** The partition column's type in this engine (`DATE`). */
  readonly dateType: string;
  /** A column of type `from` can become `to` in place without changing any value. */
  readonly widens: (from: string, to: string) => boolean;
  /**
   * The kind of value a type holds (`integer`, `float`, `decimal`; other types are their own kind).
   * A SELECT column of a narrower type of the table's kind (INTEGER where the table has BIGINT: a
   * literal, a count) is written as it is; one of another kind (INTEGER where it has DOUBLE) is a type
   * change, even where the values would fit.
   */
  readonly kind: (type: string) => string;
  /** The widenings named in messages, e.g. `INTEGER to BIGINT or DOUBLE, DATE to TIMESTAMP`. */
  readonly examples: string;
  /** How the SELECT casts a column back to a type, e.g. `CAST(n AS DOUBLE)`. */
  readonly cast: (column: string, type: string) => string;
}

export type SchemaDecision = { readonly ok: true; readonly changes: readonly SchemaChange[] } | { readonly ok: false; readonly failure: JobFailure };

/** Values of the SELECT's type go into the table's column unchanged, and mean the same kind of thing. */
function fitsAsIs(selected: string, existing: string, rules: TypeRules): boolean {
  return rules.kind(selected) === rules.kind(existing) && rules.widens(selected, existing);
}

/** A refusal that holds for every batch of the processor, whatever the data. */
export function schemaFailure(message: string): JobFailure {
  return { category: 'PROCESSOR_ERROR', message, dataIndependent: true };
}

/** The SELECT must yield the partition column, typed DATE (a table dag creates is partitioned on it). */
export function partitionColumnProblem(processor: Processor, selected: readonly Column[], rules: TypeRules): JobFailure | undefined {
  const column = processor.partitionColumn;
  const found = selected.find((c) => c.name.toLowerCase() === column.toLowerCase());
  if (!found) return schemaFailure(`the SELECT yields no column '${column}' (the partition column); it yields: ${selected.map((c) => c.name).join(', ')}`);
  if (found.type.toUpperCase() !== rules.dateType)
    return schemaFailure(`the SELECT's '${column}' is ${found.type}, not ${rules.dateType}; cast it (${rules.cast(column, rules.dateType)})`);
  return undefined;
}

/**
 * The changes that make the table take the SELECT's rows by name without losing or converting a value,
 * or why that cannot be. `existing` empty: the table does not exist yet (the batch creates it).
 * Column names compare case-insensitively, as both engines resolve them.
 */
export function decideSchemaChange(processor: Processor, existing: readonly Column[], selected: readonly Column[], rules: TypeRules): SchemaDecision {
  if (existing.length === 0) return { ok: true, changes: [] };
  const table = tableName(processor.table);
  const have = new Map(existing.map((c) => [c.name.toLowerCase(), c]));
  const yielded = new Set(selected.map((c) => c.name.toLowerCase()));
  const changes: SchemaChange[] = [];
  const differences: string[] = [];
  const refused: string[] = [];
  for (const column of selected) {
    const old = have.get(column.name.toLowerCase());
    if (!old) {
      changes.push({ kind: 'add', column });
      differences.push(`new column ${column.name} ${column.type}`);
    } else if (old.type.toUpperCase() !== column.type.toUpperCase() && !fitsAsIs(column.type, old.type, rules)) {
      if (rules.widens(old.type, column.type)) changes.push({ kind: 'widen', name: old.name, from: old.type, to: column.type });
      else refused.push(`column ${old.name} of table ${table} is ${old.type}, but the SELECT now yields ${column.type}`);
      differences.push(`${old.name} ${old.type} → ${column.type}`);
    }
  }
  for (const column of existing) if (!yielded.has(column.name.toLowerCase())) differences.push(`column ${column.name} no longer yielded`);
  const rebuild = `rebuild ${processor.name} with the new columns: dag run --full-refresh --select ${processor.name} --range A..B, A at or before ${processor.name}'s first partition`;
  if (refused.length > 0) {
    const castBack = selected.flatMap((c) => {
      const old = have.get(c.name.toLowerCase());
      const refusedHere =
        old !== undefined && old.type.toUpperCase() !== c.type.toUpperCase() && !fitsAsIs(c.type, old.type, rules) && !rules.widens(old.type, c.type);
      return refusedHere ? [rules.cast(c.name, old.type)] : [];
    });
    return {
      ok: false,
      failure: schemaFailure(
        `${refused.join('; ')}, and dag changes a column's type only when no value can change (${rules.examples}); nothing was written. ` +
          `Either make the SELECT yield the table's type again (${castBack.join(', ')}), or ${rebuild.replace('new columns', 'new types')}`,
      ),
    };
  }
  if (processor.onSchemaChange === 'fail' && differences.length > 0) {
    return {
      ok: false,
      failure: schemaFailure(
        `the SELECT's columns differ from table ${table}'s (${differences.join('; ')}) and ${processor.name} has on_schema_change: fail; nothing was written. ` +
          `Make the SELECT yield the table's columns again, set on_schema_change: add_columns to let dag add and widen columns, or ${rebuild}`,
      ),
    };
  }
  return { ok: true, changes };
}
