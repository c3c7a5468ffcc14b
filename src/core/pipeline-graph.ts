/**
 * The pipeline as a graphlib graph, for `dag graph` and the report page: sources and processors as
 * nodes, one edge per upstream entry from the node read to its reader (the way data flows), labelled
 * with its mapping (`same`, `offset -1`, `lookback 14 min 10`, `lookback 15d`). The planner keeps its
 * own index graph (graph.ts): graphlib's string-keyed maps are fine for drawing, too slow for a plan.
 */
import { Graph } from '@dagrejs/graphlib';
import type { Mapping, Pipeline } from './model.js';
import { tableName } from './model.js';

export interface GraphNode {
  readonly kind: 'source' | 'processor';
  readonly table: string;
  readonly description?: string;
  /** The calendar node: its dates are the expected partitions. */
  readonly calendar: boolean;
  /** An unselected processor, shown only because a selected one reads it (`--select`). */
  readonly context: boolean;
  /** Processors: `sql` or `command`. */
  readonly action?: 'sql' | 'command';
}

export interface GraphEdge {
  /** The mapping as people write it: `same`, `offset -1`, `offset -3d`, `lookback 14 min 10`, `lookback 15d exclude_current`. */
  readonly mapping: string;
  readonly kind: Mapping['kind'];
  readonly offset?: number;
  readonly window?: number;
  readonly unit?: 'partitions' | 'days';
  readonly min?: number;
  readonly exclude_current?: boolean;
}

export interface GraphLabel {
  readonly pipeline: string;
}

export type PipelineGraph = Graph<GraphLabel, GraphNode, GraphEdge>;

export function mappingLabel(mapping: Mapping): string {
  switch (mapping.kind) {
    case 'same':
      return 'same';
    case 'offset':
      return `offset ${mapping.offset}${mapping.unit === 'days' ? 'd' : ''}`;
    case 'lookback':
      return [
        `lookback ${mapping.window}${mapping.unit === 'days' ? 'd' : ''}`,
        mapping.min !== undefined ? `min ${mapping.min}` : '',
        mapping.excludeCurrent ? 'exclude_current' : '',
      ]
        .filter(Boolean)
        .join(' ');
  }
}

function edgeOf(mapping: Mapping): GraphEdge {
  const label = mappingLabel(mapping);
  switch (mapping.kind) {
    case 'same':
      return { mapping: label, kind: 'same' };
    case 'offset':
      return { mapping: label, kind: 'offset', offset: mapping.offset, unit: mapping.unit };
    case 'lookback':
      return {
        mapping: label,
        kind: 'lookback',
        window: mapping.window,
        unit: mapping.unit,
        ...(mapping.min !== undefined ? { min: mapping.min } : {}),
        exclude_current: mapping.excludeCurrent,
      };
  }
}

/**
 * The whole pipeline, or `selection` (processor names) with the nodes they read directly, so every
 * edge of a selected processor has both ends. Nodes come sources first, then processors in
 * topological order (graphlib keeps insertion order).
 */
export function pipelineGraph(pipeline: Pipeline, selection?: readonly string[]): PipelineGraph {
  const graph: PipelineGraph = new Graph<GraphLabel, GraphNode, GraphEdge>({ directed: true, multigraph: false, compound: false });
  graph.setGraph({ pipeline: pipeline.name });
  const chosen = new Set(selection ?? pipeline.processors.map((p) => p.name));
  const shown = new Set(chosen);
  for (const processor of pipeline.processors) if (chosen.has(processor.name)) for (const u of processor.upstream) shown.add(u.name);
  if (selection === undefined) for (const source of pipeline.sources) shown.add(source.name);
  for (const node of [...pipeline.sources, ...pipeline.processors]) {
    if (!shown.has(node.name)) continue;
    graph.setNode(node.name, {
      kind: node.kind,
      table: tableName(node.table),
      ...(node.description !== undefined ? { description: node.description } : {}),
      calendar: pipeline.calendar === node.name,
      context: node.kind === 'processor' && !chosen.has(node.name),
      ...(node.kind === 'processor' ? { action: node.action.kind } : {}),
    });
  }
  for (const processor of pipeline.processors) {
    if (!chosen.has(processor.name)) continue;
    for (const upstream of processor.upstream) graph.setEdge(upstream.name, processor.name, edgeOf(upstream.mapping));
  }
  return graph;
}

/**
 * Nodes in layers by depth: a node sits one layer right of the deepest node it reads (self-reads
 * ignored), so every edge points rightwards. Nodes arrive in topological order, which makes one pass
 * enough. Within a layer, nodes are ordered by the mean position of what they read (fewer crossings).
 */
export function graphLayers(graph: PipelineGraph): string[][] {
  const depth = new Map<string, number>();
  const layers: string[][] = [];
  const row = new Map<string, number>();
  for (const name of graph.nodes()) {
    let d = 0;
    for (const edge of graph.inEdges(name) ?? []) if (edge.v !== name) d = Math.max(d, (depth.get(edge.v) ?? 0) + 1);
    depth.set(name, d);
    (layers[d] ??= []).push(name);
  }
  for (const layer of layers) {
    const weight = (name: string): number => {
      const reads = (graph.inEdges(name) ?? []).filter((e) => e.v !== name).map((e) => row.get(e.v) ?? 0);
      return reads.length === 0 ? Number.POSITIVE_INFINITY : reads.reduce((a, b) => a + b, 0) / reads.length;
    };
    const keyed = layer.map((name, i) => ({ name, i, w: weight(name) }));
    keyed.sort((a, b) => (a.w === b.w ? a.i - b.i : a.w === Number.POSITIVE_INFINITY ? 1 : b.w === Number.POSITIVE_INFINITY ? -1 : a.w - b.w));
    keyed.forEach((k, i) => {
      layer[i] = k.name;
      row.set(k.name, i);
    });
  }
  return layers;
}
