/**
 * The processor graph, with explicit stacks and queues only: a 10,000-processor chain or a cycle
 * deep inside a large graph must never overflow the call stack. Nodes are identified by their
 * declaration index, so "declaration order among peers" is simply "smallest index first".
 */

/** Edges as adjacency lists: `reads[i]` lists the nodes node i reads (its upstream). */
export interface IndexGraph {
  readonly size: number;
  readonly reads: readonly (readonly number[])[];
}

/** Named nodes as an index graph (node i is nodes[i]); reads of names not among them are left out. */
export function indexGraphOf<T extends { readonly name: string }>(
  nodes: readonly T[],
  readsOf: (node: T) => readonly string[],
): { graph: IndexGraph; indexOf: ReadonlyMap<string, number> } {
  const indexOf = new Map(nodes.map((node, i) => [node.name, i]));
  const reads = nodes.map((node) =>
    readsOf(node)
      .map((name) => indexOf.get(name))
      .filter((i): i is number => i !== undefined),
  );
  return { graph: { size: nodes.length, reads }, indexOf };
}

/** A tiny binary min-heap of numbers: the ready set of Kahn's algorithm. */
class MinHeap {
  private readonly items: number[] = [];
  get length(): number {
    return this.items.length;
  }
  push(value: number): void {
    const items = this.items;
    items.push(value);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= value) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = value;
  }
  pop(): number | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right]! < items[left]! ? right : left;
      if (items[child]! >= last) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

/**
 * Stable topological order (upstream before downstream; among nodes ready at the same time, the
 * one declared first). Self-edges are ignored: a processor reading its own earlier partitions is not
 * a cycle. Nodes on a cycle are left out; `findCycles` explains them.
 */
export function topologicalOrder(graph: IndexGraph): number[] {
  const pending = new Array<number>(graph.size).fill(0);
  const readers: number[][] = Array.from({ length: graph.size }, () => []);
  for (let node = 0; node < graph.size; node++) {
    for (const upstream of new Set(graph.reads[node] ?? [])) {
      if (upstream === node) continue;
      pending[node]!++;
      readers[upstream]!.push(node);
    }
  }
  const ready = new MinHeap();
  for (let node = 0; node < graph.size; node++) if (pending[node] === 0) ready.push(node);
  const order: number[] = [];
  for (let node = ready.pop(); node !== undefined; node = ready.pop()) {
    order.push(node);
    for (const reader of readers[node]!) if (--pending[reader]! === 0) ready.push(reader);
  }
  return order;
}

/**
 * Every cycle once: one per strongly connected component with more than one node (Tarjan's
 * algorithm, iteratively). Each cycle is returned as a node path starting at the component's
 * first-declared node and ending where it started, e.g. [PCF, MLFS, PCF] following "reads" edges.
 */
export function findCycles(graph: IndexGraph): number[][] {
  return stronglyConnected(graph)
    .filter((component) => component.length > 1)
    .map((component) => cycleThrough(graph, component))
    .sort((a, b) => a[0]! - b[0]!);
}

function stronglyConnected(graph: IndexGraph): number[][] {
  const index = new Array<number>(graph.size).fill(-1);
  const low = new Array<number>(graph.size).fill(0);
  const onStack = new Array<boolean>(graph.size).fill(false);
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;
  // Each frame: the node and how many of its edges have been looked at.
  const frames: { node: number; edge: number }[] = [];
  for (let root = 0; root < graph.size; root++) {
    if (index[root] !== -1) continue;
    frames.push({ node: root, edge: 0 });
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = true;
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const edges = graph.reads[frame.node] ?? [];
      if (frame.edge < edges.length) {
        const next = edges[frame.edge++]!;
        if (next === frame.node) continue;
        if (index[next] === -1) {
          index[next] = low[next] = counter++;
          stack.push(next);
          onStack[next] = true;
          frames.push({ node: next, edge: 0 });
        } else if (onStack[next]) {
          low[frame.node] = Math.min(low[frame.node]!, index[next]!);
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) low[parent.node] = Math.min(low[parent.node]!, low[frame.node]!);
      if (low[frame.node] === index[frame.node]) {
        const component: number[] = [];
        let member: number | undefined;
        do {
          member = stack.pop()!;
          onStack[member] = false;
          component.push(member);
        } while (member !== frame.node);
        components.push(component.sort((a, b) => a - b));
      }
    }
  }
  return components;
}

/** A shortest cycle through the component's first node (breadth-first, inside the component). */
function cycleThrough(graph: IndexGraph, component: readonly number[]): number[] {
  const members = new Set(component);
  const start = component[0]!;
  const cameFrom = new Map<number, number>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    for (const next of graph.reads[node] ?? []) {
      if (!members.has(next) || next === node) continue;
      if (next === start) {
        const path = [start];
        for (let at: number | undefined = node; at !== undefined && at !== start; at = cameFrom.get(at)) path.push(at);
        // path is start, then the chain back from `node`; reverse the tail so edges read forward.
        return [start, ...path.slice(1).reverse(), start];
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

/** Every node reachable by following `edges` from `starts` (the starts included), iteratively. */
export function reachable(edges: readonly (readonly number[])[], starts: Iterable<number>): Set<number> {
  const seen = new Set<number>();
  const stack = [...starts];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    for (const next of edges[node] ?? []) if (!seen.has(next)) stack.push(next);
  }
  return seen;
}

/** Reverses adjacency lists: from "reads" to "is read by". */
export function reverseEdges(graph: IndexGraph): number[][] {
  const readers: number[][] = Array.from({ length: graph.size }, () => []);
  for (let node = 0; node < graph.size; node++) for (const upstream of graph.reads[node] ?? []) readers[upstream]!.push(node);
  return readers;
}
