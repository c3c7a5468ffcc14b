/**
 * A configuration file parsed into plain values that still knows where each value came from, so
 * every diagnostic can say file:line:column. YAML and JSON files are parsed with the `yaml` package
 * (JSON is YAML 1.2); JS/TS configs have no positions (line 0).
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Node, type Scalar } from 'yaml';
import type { Diagnostic } from '../core/diagnostics.js';
import { CODES } from './codes.js';

export type PathSegment = string | number;
export type Path = readonly PathSegment[];

export interface Position {
  readonly line: number;
  readonly column: number;
}

export interface ConfigDocument {
  /** Absolute path. */
  readonly file: string;
  /** The path shown in diagnostics (relative to the working directory when inside it). */
  readonly displayFile: string;
  readonly value: unknown;
  /**
   * Where the value at `path` starts (or its key, with part 'key'); the nearest existing ancestor
   * when the path does not exist (a missing key points at the mapping that lacks it).
   */
  position(path: Path, part?: 'key' | 'value'): Position;
}

const NO_POSITION: Position = { line: 0, column: 0 };

/** A document with no position information (JS/TS configs). */
export function plainDocument(file: string, displayFile: string, value: unknown): ConfigDocument {
  return { file, displayFile, value, position: () => NO_POSITION };
}

export type ParsedYaml = { ok: true; document: ConfigDocument; diagnostics: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[] };

/**
 * Parses YAML (or JSON) text. Duplicate keys are reported but do not stop validation; any other
 * syntax error does, since positions in a broken document cannot be trusted. `root` selects a
 * sub-tree (the `dag` key of package.json).
 */
export function parseYamlDocument(file: string, displayFile: string, text: string, root: Path = []): ParsedYaml {
  const lineCounter = new LineCounter();
  // The parser's own duplicate-key check is quadratic per mapping (10,000 processors took seconds);
  // duplicateKeys() below does the same in one pass.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, keepSourceTokens: false });
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const diagnostics: Diagnostic[] = [];
  let fatal = false;
  for (const error of doc.errors) {
    // After the first syntax error the parser's further complaints are mostly its echoes.
    if (fatal) break;
    fatal = true;
    diagnostics.push({
      code: CODES.yamlSyntax,
      severity: 'error',
      message: `YAML syntax: ${firstLine(error.message)}`,
      file: displayFile,
      ...at(error.pos[0]),
      hint: 'fix the YAML syntax (indentation, quotes, colons) at this position',
    });
  }
  if (fatal) return { ok: false, diagnostics };
  for (const key of duplicateKeys(doc)) {
    diagnostics.push({
      code: CODES.duplicateKey,
      severity: 'error',
      message: `key '${String(key.value)}' appears twice in one mapping; the second one would silently win`,
      file: displayFile,
      ...at(key.range?.[0] ?? 0),
      hint: 'remove or rename one of the two keys',
    });
  }

  const nodeAt = (path: Path): { node: Node | null; key: Node | null; resolved: boolean } => {
    let node: Node | null = doc.contents as Node | null;
    let key: Node | null = null;
    for (const segment of [...root, ...path]) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
        if (!pair) return { node, key, resolved: false };
        key = pair.key as Node;
        node = (pair.value as Node | null) ?? null;
        // `other:` with nothing after it: point at the key, not at the empty space after the colon.
        if (node === null || (isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1])) return { node: key, key, resolved: true };
      } else if (isSeq(node) && /^\d+$/.test(String(segment))) {
        const item = node.items[Number(segment)] as Node | undefined;
        if (!item) return { node, key, resolved: false };
        key = null;
        node = item;
      } else {
        return { node, key, resolved: false };
      }
    }
    return { node, key, resolved: true };
  };
  const position = (path: Path, part: 'key' | 'value' = 'value'): Position => {
    const { node, key, resolved } = nodeAt(path);
    // A missing path points at the key of the nearest mapping that exists: "this mapping lacks X".
    const target = part === 'key' || !resolved ? (key ?? node) : node;
    const offset = target?.range?.[0];
    return offset === undefined ? { line: 1, column: 1 } : at(offset);
  };

  let value: unknown = doc.toJS({ maxAliasCount: 1000 });
  for (const segment of root) value = isRecord(value) ? value[String(segment)] : undefined;
  return { ok: true, document: { file, displayFile, value, position }, diagnostics };
}

/** Second and later occurrences of a scalar key within one mapping, in document order. */
function duplicateKeys(doc: ReturnType<typeof parseDocument>): Scalar[] {
  const found: Scalar[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const name = String(pair.key.value);
        if (seen.has(name)) found.push(pair.key);
        seen.add(name);
      }
    },
  });
  return found;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
