/** A tiny resolved-Pipeline builder for the DuckDB adapter tests (no YAML involved). */
import { DEFAULTS, type Pipeline, type PipelineNode, type Processor, type Source } from '../../src/core/model.js';
import { duckdbTarget } from './duckdb.js';

export function source(name: string, table: string, partitionColumn = 'game_date'): Source {
  const [schema = '', tableName = ''] = table.split('.');
  return { kind: 'source', name, table: { schema, name: tableName }, partitionColumn, description: undefined, retentionDays: undefined };
}

export function sqlProcessor(name: string, table: string, sql: string, overrides: Partial<Processor> = {}): Processor {
  const [schema = '', tableName = ''] = table.split('.');
  return {
    kind: 'processor',
    name,
    table: { schema, name: tableName },
    partitionColumn: 'game_date',
    description: undefined,
    upstream: [],
    action: { kind: 'sql', file: `/virtual/${name}.sql`, text: sql },
    codeFiles: [],
    start: undefined,
    retentionDays: undefined,
    batchSize: DEFAULTS.batchSize,
    timeoutMs: DEFAULTS.timeoutMs,
    retries: DEFAULTS.retries,
    concurrency: DEFAULTS.concurrency,
    allowEmpty: false,
    checks: [],
    onSchemaChange: DEFAULTS.onSchemaChange,
    notify: undefined,
    ...overrides,
  };
}

export function pipelineOf(dbPath: string, nodes: readonly PipelineNode[], calendar?: string): Pipeline {
  const sources = nodes.filter((node): node is Source => node.kind === 'source');
  const processors = nodes.filter((node): node is Processor => node.kind === 'processor');
  return {
    name: 'test',
    file: '/virtual/pipeline.yaml',
    targets: new Map([['dev', duckdbTarget(dbPath)]]),
    defaultTarget: 'dev',
    calendar,
    sources,
    processors,
    nodes: new Map(nodes.map((node) => [node.name, node])),
    notify: undefined,
  };
}
