/**
 * Which DuckDB column types widen into which without changing a value (DESIGN §8), for schema changes:
 * a smaller integer into a larger one (a signed one holds every unsigned of fewer bits), an integer of
 * up to 64 bits or a FLOAT into DOUBLE (DESIGN counts BIGINT → DOUBLE as lossless), a TINYINT or
 * SMALLINT into FLOAT, DATE into TIMESTAMP, a DECIMAL or an integer into a DECIMAL with at least as many
 * digits on each side of the point. Type names are DuckDB's own spelling (DESCRIBE, duckdb_columns).
 */
import type { TypeRules } from '../schema-change.js';
import { quoteIdent } from './sql.js';

const INTEGERS: Readonly<Record<string, { readonly bits: number; readonly signed: boolean; readonly digits: number }>> = {
  TINYINT: { bits: 8, signed: true, digits: 3 },
  SMALLINT: { bits: 16, signed: true, digits: 5 },
  INTEGER: { bits: 32, signed: true, digits: 10 },
  BIGINT: { bits: 64, signed: true, digits: 19 },
  HUGEINT: { bits: 128, signed: true, digits: 39 },
  UTINYINT: { bits: 8, signed: false, digits: 3 },
  USMALLINT: { bits: 16, signed: false, digits: 5 },
  UINTEGER: { bits: 32, signed: false, digits: 10 },
  UBIGINT: { bits: 64, signed: false, digits: 20 },
  UHUGEINT: { bits: 128, signed: false, digits: 39 },
};

function decimal(type: string): { readonly precision: number; readonly scale: number } | undefined {
  const match = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(type);
  return match ? { precision: Number(match[1]), scale: Number(match[2]) } : undefined;
}

export function duckdbWidens(fromType: string, toType: string): boolean {
  const from = fromType.toUpperCase();
  const to = toType.toUpperCase();
  if (from === to) return true;
  const fromInt = INTEGERS[from];
  const toInt = INTEGERS[to];
  if (fromInt && toInt) return fromInt.signed === toInt.signed ? toInt.bits >= fromInt.bits : !fromInt.signed && toInt.bits > fromInt.bits;
  if (to === 'DOUBLE') return from === 'FLOAT' || (fromInt !== undefined && fromInt.bits <= 64);
  if (to === 'FLOAT') return fromInt !== undefined && fromInt.bits <= 16;
  if (from === 'DATE') return to === 'TIMESTAMP';
  const toDecimal = decimal(to);
  if (!toDecimal) return false;
  const fromDecimal = decimal(from);
  if (fromDecimal) return toDecimal.scale >= fromDecimal.scale && toDecimal.precision - toDecimal.scale >= fromDecimal.precision - fromDecimal.scale;
  return fromInt !== undefined && toDecimal.precision - toDecimal.scale >= fromInt.digits;
}

function kind(type: string): string {
  const upper = type.toUpperCase();
  if (INTEGERS[upper]) return 'integer';
  if (upper === 'FLOAT' || upper === 'DOUBLE') return 'float';
  return decimal(upper) ? 'decimal' : upper;
}

export const DUCKDB_TYPES: TypeRules = {
  dateType: 'DATE',
  widens: duckdbWidens,
  kind,
  examples: 'INTEGER to BIGINT or DOUBLE, DATE to TIMESTAMP',
  cast: (column, type) => `${/^[A-Za-z_][A-Za-z0-9_]*$/.test(column) ? column : quoteIdent(column)}::${type}`,
};
