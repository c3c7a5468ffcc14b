/**
 * `dag graph` output: Mermaid (renders in GitHub markdown), Graphviz dot, and graphlib's own JSON
 * (`json.write`; schema/graph.schema.json describes it). Sources are cylinders; processors shown only
 * because a selected one reads them are dashed. Edges run from what is read to its reader.
 */
import { json } from '@dagrejs/graphlib';
import type { PipelineGraph } from './pipeline-graph.js';

export type GraphFormat = 'mermaid' | 'dot' | 'json';
export const GRAPH_FORMATS: readonly GraphFormat[] = ['mermaid', 'dot', 'json'];

/** Mermaid ids are positional (n0, n1...): names may hold `-`, which Mermaid reads as an arrow. */
export function toMermaid(graph: PipelineGraph): string {
  const ids = new Map(graph.nodes().map((name, i) => [name, `n${i}`]));
  const text = (s: string): string => s.replace(/"/g, '#quot;');
  const lines = ['flowchart LR'];
  for (const name of graph.nodes()) {
    const node = graph.node(name);
    const label = text(name);
    lines.push(node.kind === 'source' ? `  ${ids.get(name)}[("${label}")]` : `  ${ids.get(name)}["${label}"]`);
  }
  for (const edge of graph.edges()) lines.push(`  ${ids.get(edge.v)} -->|"${text(graph.edge(edge).mapping)}"| ${ids.get(edge.w)}`);
  const context = graph.nodes().filter((name) => graph.node(name).context);
  if (context.length > 0) {
    lines.push('  classDef context stroke-dasharray: 4 3,color:#666');
    lines.push(`  class ${context.map((name) => ids.get(name)).join(',')} context`);
  }
  return `${lines.join('\n')}\n`;
}

function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function toDot(graph: PipelineGraph): string {
  const lines = [
    `digraph ${dotString(graph.graph().pipeline)} {`,
    '  rankdir=LR;',
    '  node [shape=box, fontname="Helvetica"];',
    '  edge [fontname="Helvetica", fontsize=10];',
  ];
  for (const name of graph.nodes()) {
    const node = graph.node(name);
    const attributes = [`label=${dotString(`${name}\n${node.table}`)}`];
    if (node.kind === 'source') attributes.push('shape=cylinder');
    if (node.context) attributes.push('style=dashed');
    if (node.calendar) attributes.push('peripheries=2');
    lines.push(`  ${dotString(name)} [${attributes.join(', ')}];`);
  }
  for (const edge of graph.edges()) lines.push(`  ${dotString(edge.v)} -> ${dotString(edge.w)} [label=${dotString(graph.edge(edge).mapping)}];`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

export function toJson(graph: PipelineGraph): string {
  return `${JSON.stringify(json.write(graph), null, 2)}\n`;
}

export function formatGraph(graph: PipelineGraph, format: GraphFormat): string {
  switch (format) {
    case 'mermaid':
      return toMermaid(graph);
    case 'dot':
      return toDot(graph);
    case 'json':
      return toJson(graph);
  }
}
