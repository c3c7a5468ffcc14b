/**
 * The resolved pipeline: what pipeline.yaml means once validated. Immutable, positions stripped
 * (diagnostics are produced before resolution), durations in ms, dates as Day numbers, paths absolute.
 * Only a valid file becomes a Pipeline, so everything here can be trusted by the planner and runner.
 */
import type { Day } from './dates.js';

/** `schema.table` as written in pipeline.yaml. `schema` is the DuckDB schema or the BigQuery dataset. */
export interface TableRef {
  readonly schema: string;
  readonly name: string;
}

export function tableName(table: TableRef): string {
  return `${table.schema}.${table.name}`;
}

export interface DuckdbTarget {
  readonly type: 'duckdb';
  readonly name: string;
  /** Absolute path of the database file (resolved relative to pipeline.yaml). */
  readonly path: string;
  /** Schema holding the ledger tables; `_dag` unless the target says `ledger_schema`. */
  readonly ledgerSchema: string;
}

export interface BigqueryTarget {
  readonly type: 'bigquery';
  readonly name: string;
  readonly project: string;
  /** Passed on every job: the client's fast query path ignores a client-level location. */
  readonly location: string;
  /** Dataset holding the ledger tables; `_dag` unless `ledger_dataset` says otherwise. */
  readonly ledgerSchema: string;
  readonly maximumBytesBilled: number | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly jobTimeoutMs: number | undefined;
  /** Absolute path of a service-account key file; Application Default Credentials when absent. */
  readonly keyFile: string | undefined;
  /** Overrides the REST endpoint (tests point it at a loopback server). */
  readonly apiEndpoint: string | undefined;
  /** On-demand price used by `plan --cost`, in USD per TiB. */
  readonly pricePerTib: number;
}

export type Target = DuckdbTarget | BigqueryTarget;

/**
 * How a partition `d` of a processor maps to the partitions it reads of one upstream.
 * `unit: 'partitions'` counts partitions of the calendar (game days); `'days'` counts calendar days.
 */
export type Mapping =
  | { readonly kind: 'same' }
  | { readonly kind: 'offset'; readonly offset: number; readonly unit: 'partitions' | 'days' }
  | {
      readonly kind: 'lookback';
      readonly window: number;
      readonly unit: 'partitions' | 'days';
      /** At least this many of the window's partitions must be present; undefined means all. */
      readonly min: number | undefined;
      readonly excludeCurrent: boolean;
    };

export interface Upstream {
  readonly name: string;
  readonly mapping: Mapping;
}

export type ProcessorAction =
  | {
      readonly kind: 'sql';
      /** Absolute path of the .sql file. */
      readonly file: string;
      /** The file's text, read once at load time (templates: start_date, end_date, this, ref('X')). */
      readonly text: string;
    }
  | {
      readonly kind: 'command';
      /** argv, run without a shell; `{start}`, `{end}`, `{target}` are substituted per batch. */
      readonly argv: readonly string[];
    };

/**
 * A file whose content is part of a processor's code: a file its command's argv names, or one its
 * `code:` globs match. Read at load time, so the planner can tell an edited script from a touched one.
 */
export interface CodeFile {
  /** Relative to the project folder, `/`-separated: the fingerprint does not depend on where the project lives. */
  readonly path: string;
  /** sha256 (hex) of the content with CRLF line endings read as LF. */
  readonly hash: string;
}

/**
 * What a SQL batch does when its SELECT's columns differ from its table's (DESIGN §8): `add_columns`
 * adds new columns and applies lossless widenings, `fail` refuses any difference. Rows are written by
 * column name either way. Not part of the code fingerprint: it changes how tables evolve, not what a
 * partition holds.
 */
export type OnSchemaChange = 'add_columns' | 'fail';

/**
 * What a data check finds offending (DESIGN §9, docs/checks.md). Columns are validated identifiers;
 * a `sql` check's text is read at load time like a processor's SQL.
 */
export type CheckRule =
  | { readonly kind: 'not_null'; readonly columns: readonly string[] }
  | { readonly kind: 'unique'; readonly columns: readonly string[] }
  | { readonly kind: 'row_count'; readonly min: number | undefined; readonly max: number | undefined }
  | { readonly kind: 'accepted_values'; readonly column: string; readonly values: readonly (string | number | boolean)[] }
  | { readonly kind: 'relationships'; readonly column: string; readonly to: string; readonly field: string }
  | { readonly kind: 'sql'; readonly file: string; readonly text: string };

/** `error` keeps an offending partition from being committed (CHECK_FAILED); `warn` commits and records. */
export type CheckSeverity = 'error' | 'warn';

/** One of a processor's `checks:` (the `defaults:` ones first). Names are unique within a processor. */
export interface Check {
  readonly name: string;
  readonly severity: CheckSeverity;
  readonly rule: CheckRule;
}

export interface Notify {
  readonly webhook: string | undefined;
}

interface NodeBase {
  readonly name: string;
  readonly table: TableRef;
  readonly partitionColumn: string;
  readonly description: string | undefined;
  /**
   * `retention: 400d`: partitions dated before today minus this many days are expired by design
   * (DESIGN §3), not missing. Undefined: none declared (on BigQuery the table's partition expiration
   * then counts, see TableInventory.expirationDays).
   */
  readonly retentionDays: number | undefined;
}

export interface Source extends NodeBase {
  readonly kind: 'source';
}

export interface Processor extends NodeBase {
  readonly kind: 'processor';
  /** In declaration order; a processor may name itself with a negative offset / exclusive lookback. */
  readonly upstream: readonly Upstream[];
  readonly action: ProcessorAction;
  /** The files its code fingerprint covers besides the SQL text or argv, sorted by path; often none. */
  readonly codeFiles: readonly CodeFile[];
  /** No partitions are expected before this day. */
  readonly start: Day | undefined;
  readonly batchSize: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly concurrency: number;
  readonly allowEmpty: boolean;
  /** `on_schema_change`; SQL processors only (a command writes its table itself). */
  readonly onSchemaChange: OnSchemaChange;
  /** Data checks each batch must pass before it commits (DESIGN §9); part of the code fingerprint. */
  readonly checks: readonly Check[];
  readonly notify: Notify | undefined;
}

export type PipelineNode = Source | Processor;

export interface Pipeline {
  readonly name: string;
  /** Absolute path of the file the pipeline came from; relative paths inside resolve against its folder. */
  readonly file: string;
  readonly targets: ReadonlyMap<string, Target>;
  readonly defaultTarget: string;
  /** Name of the source or processor whose present dates are the calendar; undefined: every day. */
  readonly calendar: string | undefined;
  /** IANA time zone of `timezone:` (default 'UTC'): what "today" is in relative ranges (DESIGN §6). */
  readonly timeZone: string;
  readonly sources: readonly Source[];
  /** Topological order, declaration order among peers (upstream always before downstream). */
  readonly processors: readonly Processor[];
  /** Sources and processors by name. */
  readonly nodes: ReadonlyMap<string, PipelineNode>;
  readonly notify: Notify | undefined;
}

/** Defaults applied where neither the processor nor `defaults:` says otherwise. */
export const DEFAULTS = {
  partitionColumn: 'date',
  batchSize: 31,
  timeoutMs: 60_000,
  retries: 2,
  concurrency: 4,
  ledgerSchema: '_dag',
  pricePerTib: 6.25,
  onSchemaChange: 'add_columns',
} as const;

/** A processor reads its own earlier partitions: its partitions are built one per job, in date order. */
export function readsItself(processor: Processor): boolean {
  return processor.upstream.some((u) => u.name === processor.name);
}
