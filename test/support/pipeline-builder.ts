/**
 * Builders for planner tests: a resolved Pipeline and a Snapshot written the way a person describes
 * them ("boxscores has 10-19..11-30 except 11-09; PSZA was built on those days at t=100").
 */
import { codeFingerprint } from '../../src/core/fingerprint.js';
import { formatDay, parseIsoDate, type Day, type DayRange } from '../../src/core/dates.js';
import type { Mapping, Pipeline, PipelineNode, Processor, Source, Upstream } from '../../src/core/model.js';
import type { LedgerEntry, PartitionInfo, Snapshot, TableInventory } from '../../src/core/snapshot.js';

export function day(iso: string): Day {
  const d = parseIsoDate(iso);
  if (d === undefined) throw new Error(`bad date ${iso}`);
  return d;
}

/** `'2021-11-01..2021-11-05'` or `'2021-11-01'` → the days, ascending; several specs concatenate. */
export function days(...specs: string[]): Day[] {
  const out: Day[] = [];
  for (const spec of specs) {
    const [a, b] = spec.split('..');
    const start = day(a as string);
    const end = b === undefined ? start : day(b);
    for (let d = start; d <= end; d++) out.push(d);
  }
  return out;
}

export const iso = (d: Day): string => formatDay(d);

export const same = (): Mapping => ({ kind: 'same' });
export const offset = (k: number): Mapping => ({ kind: 'offset', offset: k, unit: 'partitions' });
export const offsetDays = (k: number): Mapping => ({ kind: 'offset', offset: k, unit: 'days' });
export const lookback = (window: number, options: { min?: number; excludeCurrent?: boolean } = {}): Mapping => ({
  kind: 'lookback',
  window,
  unit: 'partitions',
  min: options.min,
  excludeCurrent: options.excludeCurrent ?? false,
});
export const lookbackDays = (window: number, options: { min?: number; excludeCurrent?: boolean } = {}): Mapping => ({
  ...(lookback(window, options) as Extract<Mapping, { kind: 'lookback' }>),
  unit: 'days',
});

export interface ProcessorSpec {
  readonly upstream: Readonly<Record<string, Mapping>> | readonly string[];
  readonly start?: string | Day;
  readonly batchSize?: number;
  readonly sql?: string;
  readonly command?: readonly string[];
  /** `retention:` in days. */
  readonly retentionDays?: number;
}

export interface PipelineSpec {
  readonly name?: string;
  readonly calendar?: string;
  readonly sources: readonly string[];
  /** In topological order. */
  readonly processors: Readonly<Record<string, ProcessorSpec>>;
  /** `retention:` of sources, in days, by source name. */
  readonly sourceRetention?: Readonly<Record<string, number>>;
}

export function buildPipeline(spec: PipelineSpec): Pipeline {
  const sources: Source[] = spec.sources.map((name) => ({
    kind: 'source',
    name,
    table: { schema: 'raw', name },
    partitionColumn: 'date',
    description: undefined,
    retentionDays: spec.sourceRetention?.[name],
  }));
  const processors: Processor[] = Object.entries(spec.processors).map(([name, p]) => {
    const upstream: Upstream[] = Array.isArray(p.upstream)
      ? (p.upstream as readonly string[]).map((u) => ({ name: u, mapping: same() }))
      : Object.entries(p.upstream as Record<string, Mapping>).map(([u, mapping]) => ({ name: u, mapping }));
    return {
      kind: 'processor',
      name,
      table: { schema: 'work', name: name.toLowerCase() },
      partitionColumn: 'date',
      description: undefined,
      upstream,
      action: p.command ? { kind: 'command', argv: p.command } : { kind: 'sql', file: `/p/sql/${name}.sql`, text: p.sql ?? `select * from t -- ${name}` },
      codeFiles: [],
      start: typeof p.start === 'string' ? day(p.start) : p.start,
      retentionDays: p.retentionDays,
      batchSize: p.batchSize ?? 31,
      timeoutMs: 60_000,
      retries: 2,
      concurrency: 4,
      allowEmpty: false,
      checks: [],
      notify: undefined,
    };
  });
  const nodes = new Map<string, PipelineNode>();
  for (const n of [...sources, ...processors]) nodes.set(n.name, n);
  return {
    name: spec.name ?? 'test',
    file: '/p/pipeline.yaml',
    targets: new Map([['dev', { type: 'duckdb', name: 'dev', path: '/p/dev.duckdb', ledgerSchema: '_dag' }]]),
    defaultTarget: 'dev',
    calendar: spec.calendar,
    sources,
    processors,
    nodes,
    notify: undefined,
  };
}

/** A warehouse state, described table by table. */
export class SnapshotBuilder {
  private calendarDays: Day[] | undefined;
  private readonly tables = new Map<string, Map<Day, PartitionInfo>>();
  private readonly ledgers = new Map<string, Map<Day, LedgerEntry>>();
  private queries = 0;

  constructor(private readonly pipeline: Pipeline) {}

  private table(name: string): Map<Day, PartitionInfo> {
    let t = this.tables.get(name);
    if (!t) this.tables.set(name, (t = new Map()));
    return t;
  }

  calendar(list: readonly Day[]): this {
    this.calendarDays = [...new Set(list)].sort((a, b) => a - b);
    return this;
  }

  /** Partitions present in a table with no ledger entry (sources, or built outside dag). */
  present(name: string, list: readonly Day[], info: { changedAt?: number; rows?: number; version?: string } = {}): this {
    for (const d of list) this.table(name).set(d, { rows: info.rows ?? 1, version: info.version ?? `v${d}`, changedAt: info.changedAt });
    return this;
  }

  absent(name: string, list: readonly Day[]): this {
    for (const d of list) this.table(name).delete(d);
    return this;
  }

  /** dag built these partitions at `builtAt` (rows 0: ledger only, no data). */
  built(name: string, list: readonly Day[], entry: { builtAt: number; rows?: number; fingerprint?: string; dataGone?: boolean; tableRows?: number }): this {
    const processor = this.pipeline.nodes.get(name);
    if (processor?.kind !== 'processor') throw new Error(`${name} is not a processor`);
    let ledger = this.ledgers.get(name);
    if (!ledger) this.ledgers.set(name, (ledger = new Map()));
    const rows = entry.rows ?? 1;
    for (const d of list) {
      ledger.set(d, {
        runId: `r${entry.builtAt}`,
        builtAt: entry.builtAt,
        rows,
        codeFingerprint: entry.fingerprint ?? codeFingerprint(processor),
        inputFingerprint: 'x',
      });
      const tableRows = entry.tableRows ?? rows;
      if (tableRows > 0 && entry.dataGone !== true) this.table(name).set(d, { rows: tableRows, version: `b${entry.builtAt}`, changedAt: undefined });
      else this.table(name).delete(d);
    }
    return this;
  }

  snapshot(): Snapshot {
    const tables = new Map<string, TableInventory>();
    for (const node of this.pipeline.nodes.keys()) {
      const t = this.tables.get(node);
      tables.set(node, { exists: t !== undefined, partitions: t ?? new Map() });
      this.queries++;
    }
    return { calendar: this.calendarDays, tables, ledger: this.ledgers, failures: new Map(), stats: { queries: this.queries + 1 } };
  }
}

// ---- Random pipelines and warehouse states (seeded: mulberry32) for property tests ----

export type Random = () => number;

export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const int = (rnd: Random, lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = <T>(rnd: Random, list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;

export interface RandomOptions {
  /** Leave out `min`, code and row-count changes, retention and --force (the make comparison). */
  readonly makeComparable?: boolean;
}

export interface RandomCase {
  readonly pipeline: Pipeline;
  readonly snapshot: Snapshot;
  readonly range: DayRange;
  readonly selection: readonly string[];
  readonly today: Day;
  readonly force: boolean;
}

const BASE = day('2021-11-01');

function randomMapping(rnd: Random, self: boolean, options: RandomOptions): Mapping {
  const unit = rnd() < 0.6 ? 'partitions' : 'days';
  if (self) {
    if (rnd() < 0.5) return { kind: 'offset', offset: -int(rnd, 1, 3), unit };
    return { kind: 'lookback', window: int(rnd, 1, 4), unit, min: undefined, excludeCurrent: true };
  }
  const r = rnd();
  if (r < 0.35) return { kind: 'same' };
  if (r < 0.55) return { kind: 'offset', offset: -int(rnd, 0, 3), unit };
  const window = int(rnd, 0, 5);
  const min = !options.makeComparable && rnd() < 0.4 ? int(rnd, 0, window + 1) : undefined;
  return { kind: 'lookback', window, unit, min, excludeCurrent: window > 0 && rnd() < 0.25 };
}

export function randomCase(rnd: Random, options: RandomOptions = {}): RandomCase {
  const sourceCount = int(rnd, 1, 3);
  const processorCount = int(rnd, 1, 6);
  const sources = Array.from({ length: sourceCount }, (_, i) => `s${i}`);
  const names = Array.from({ length: processorCount }, (_, i) => `P${i}`);
  const processors: Record<string, ProcessorSpec> = {};
  names.forEach((name, i) => {
    const candidates = [...sources, ...names.slice(0, i)];
    const upstream: Record<string, Mapping> = {};
    const count = int(rnd, 1, Math.min(3, candidates.length));
    for (let k = 0; k < count; k++) {
      const u = pick(rnd, candidates);
      if (!(u in upstream)) upstream[u] = randomMapping(rnd, false, options);
    }
    if (rnd() < 0.15) upstream[name] = randomMapping(rnd, true, options);
    processors[name] = {
      upstream,
      ...(rnd() < 0.3 ? { start: BASE + int(rnd, -5, 10) } : {}),
      ...(!options.makeComparable && rnd() < 0.15 ? { retentionDays: int(rnd, 5, 40) } : {}),
      batchSize: int(rnd, 1, 5),
    };
  });
  const calendarSource = rnd() < 0.5 ? pick(rnd, sources) : undefined;
  const sourceRetention: Record<string, number> = {};
  for (const s of sources) if (!options.makeComparable && rnd() < 0.2) sourceRetention[s] = int(rnd, 5, 40);
  const pipeline = buildPipeline({ sources, processors, sourceRetention, ...(calendarSource ? { calendar: calendarSource } : {}) });

  const universe: Day[] = [];
  for (let d = BASE - 20; d <= BASE + 30; d++) universe.push(d);
  const calendar = calendarSource ? universe.filter(() => rnd() < 0.6) : undefined;
  const calendarDays = calendar ?? universe;
  const builder = new SnapshotBuilder(pipeline);
  if (calendar) builder.calendar(calendar);
  const presentRate = rnd() * 0.4 + 0.6;
  const time = (): number | undefined => {
    const r = rnd();
    if (r < 0.1 && !options.makeComparable) return undefined;
    if (r < 0.15) return Infinity;
    return int(rnd, 1, 100);
  };
  for (const s of sources) {
    for (const d of calendarDays) {
      if (s === calendarSource || rnd() < presentRate) builder.present(s, [d], { changedAt: time() });
    }
  }
  for (const p of pipeline.processors) {
    for (const d of calendarDays) {
      if (p.start !== undefined && d < p.start) continue;
      const r = rnd();
      if (r < 1 - presentRate) continue; // absent
      if (r < 0.9) {
        const old = !options.makeComparable && rnd() < 0.1;
        const zero = rnd() < 0.1;
        const gone = !zero && rnd() < 0.05;
        const touched = !options.makeComparable && !gone && rnd() < 0.05;
        builder.built(p.name, [d], {
          builtAt: int(rnd, 1, 100),
          rows: zero ? 0 : 1,
          ...(old ? { fingerprint: 'old' } : {}),
          dataGone: gone,
          ...(touched ? { tableRows: zero ? 3 : 2 } : {}),
        });
      } else {
        const changedAt = time();
        builder.present(p.name, [d], changedAt === undefined ? {} : { changedAt });
      }
    }
  }
  const a = BASE + int(rnd, -8, 20);
  const range = { start: a, end: a + int(rnd, 0, 12) };
  const selection = rnd() < 0.6 ? names : names.filter(() => rnd() < 0.6);
  const today = BASE + int(rnd, 0, 40);
  const force = !options.makeComparable && rnd() < 0.08;
  return { pipeline, snapshot: builder.snapshot(), range, selection, today, force };
}
