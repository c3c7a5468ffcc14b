/** Parsing the small value languages of pipeline.yaml: durations and upstream mappings. */
import type { Mapping } from '../core/model.js';
import { UNIT_MS } from '../core/dates.js';
import { isRecord } from './document.js';

const DURATION = /^(\d+)(ms|s|m|h)$/;

/** `30s`, `10m`, `1h`, `500ms` in milliseconds; undefined for anything else. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = DURATION.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** `retention: 400d` in days (the schema already checked the shape); undefined when absent or malformed. */
export function parseRetention(value: unknown): number | undefined {
  const match = typeof value === 'string' ? /^(\d+)d$/.exec(value) : null;
  return match ? Number(match[1]) : undefined;
}

/** The longest timer Node can set (about 24.8 days); a longer one fires at once. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** Why a well-formed duration cannot be used, or undefined when it can. */
export function durationProblem(value: unknown): string | undefined {
  const ms = parseDuration(value);
  if (ms === undefined) return undefined; // malformed: the schema pattern reported it
  if (ms === 0) return 'is zero, which would stop every job as soon as it starts';
  if (ms > MAX_DURATION_MS) return 'is longer than dag can wait (24 days at most)';
  return undefined;
}

/** `14` → 14 partitions; `'30d'` → 30 days; `'-3d'` → -3 days. */
function count(value: unknown): { n: number; unit: 'partitions' | 'days' } | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return { n: value, unit: 'partitions' };
  if (typeof value === 'string') {
    const match = /^(-?\d+)d$/.exec(value);
    if (match) return { n: Number(match[1]), unit: 'days' };
  }
  return undefined;
}

export type MappingOutcome =
  | { readonly ok: true; readonly mapping: Mapping }
  | { readonly ok: false; readonly problem: 'both' | 'neither' | 'min-without-lookback' | 'exclude-without-lookback' | 'malformed' };

/**
 * An upstream mapping as written (`same`, `{ offset }`, `{ lookback, min, exclude_current }`).
 * Out-of-range numbers were already rejected by the schema; here only combinations are judged.
 */
export function parseMapping(raw: unknown): MappingOutcome {
  if (raw === 'same' || raw === null || raw === undefined) return { ok: true, mapping: { kind: 'same' } };
  if (!isRecord(raw)) return { ok: false, problem: 'malformed' };
  const hasOffset = raw.offset !== undefined;
  const hasLookback = raw.lookback !== undefined;
  if (hasOffset && hasLookback) return { ok: false, problem: 'both' };
  if (hasOffset) {
    if (raw.min !== undefined) return { ok: false, problem: 'min-without-lookback' };
    if (raw.exclude_current !== undefined) return { ok: false, problem: 'exclude-without-lookback' };
    const offset = count(raw.offset);
    if (!offset || offset.n >= 0) return { ok: false, problem: 'malformed' };
    return { ok: true, mapping: { kind: 'offset', offset: offset.n, unit: offset.unit } };
  }
  if (hasLookback) {
    const window = count(raw.lookback);
    if (!window || window.n < 1) return { ok: false, problem: 'malformed' };
    const min = typeof raw.min === 'number' && Number.isInteger(raw.min) ? raw.min : undefined;
    return {
      ok: true,
      mapping: { kind: 'lookback', window: window.n, unit: window.unit, min, excludeCurrent: raw.exclude_current === true },
    };
  }
  if (raw.min !== undefined) return { ok: false, problem: 'min-without-lookback' };
  if (raw.exclude_current !== undefined) return { ok: false, problem: 'exclude-without-lookback' };
  return { ok: false, problem: 'neither' };
}

/**
 * The most partitions a lookback window can hold: n partitions back plus d itself (minus d with
 * exclude_current). With days, at most one partition per day, so the same bound holds.
 */
export function windowCapacity(mapping: Extract<Mapping, { kind: 'lookback' }>): number {
  return mapping.window + (mapping.excludeCurrent ? 0 : 1);
}
