/**
 * Builders for planner tests: a resolved Pipeline and a Snapshot written the way a person describes
 * them ("boxscores has 10-19..11-30 except 11-09; PSZA was built on those days at t=100").
 */
import { codeFingerprint } from '../../src/core/fingerprint.js';
import { formatDay, parseIsoDate, type Day } from '../../src/core/dates.js';
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
}

export interface PipelineSpec {
  readonly name?: string;
  readonly calendar?: string;
  readonly sources: readonly string[];
  /** In topological order. */
  readonly processors: Readonly<Record<string, ProcessorSpec>>;
}

export function buildPipeline(spec: PipelineSpec): Pipeline {
  const sources: Source[] = spec.sources.map((name) => ({ kind: 'source', name, table: { schema: 'raw', name }, partitionColumn: 'date', description: undefined }));
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
      start: typeof p.start === 'string' ? day(p.start) : p.start,
      batchSize: p.batchSize ?? 31,
      timeoutMs: 60_000,
      retries: 2,
      concurrency: 4,
      allowEmpty: false,
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
  built(name: string, list: readonly Day[], entry: { builtAt: number; rows?: number; fingerprint?: string; dataGone?: boolean }): this {
    const processor = this.pipeline.nodes.get(name);
    if (processor?.kind !== 'processor') throw new Error(`${name} is not a processor`);
    let ledger = this.ledgers.get(name);
    if (!ledger) this.ledgers.set(name, (ledger = new Map()));
    const rows = entry.rows ?? 1;
    for (const d of list) {
      ledger.set(d, { runId: `r${entry.builtAt}`, builtAt: entry.builtAt, rows, codeFingerprint: entry.fingerprint ?? codeFingerprint(processor), inputFingerprint: 'x' });
      if (rows > 0 && entry.dataGone !== true) this.table(name).set(d, { rows, version: `b${entry.builtAt}`, changedAt: undefined });
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
