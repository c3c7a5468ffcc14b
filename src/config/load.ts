/**
 * Loading pipeline.yaml: find it, parse it with positions, check its shape against the JSON Schema,
 * check its meaning, and resolve it to the model. Every problem comes back at once, sorted by
 * place; the Pipeline only when there is no error.
 */
import { readFileSync } from 'node:fs';
import type { Diagnostic } from '../core/diagnostics.js';
import type { Pipeline } from '../core/model.js';
import { loadGlobFiles, usesCodeGlobs } from './code-files.js';
import { CODES } from './codes.js';
import { parseYamlDocument, plainDocument, type ConfigDocument } from './document.js';
import { findPipelineFile } from './discover.js';
import { displayPath } from './report.js';
import { resolvePipeline, targetsOf } from './resolve.js';
import type { ResolvedTargets } from './resolve-targets.js';
import { checkShape } from './schema-check.js';

export type LoadOutcome =
  | { readonly ok: true; readonly pipeline: Pipeline; readonly file: string; readonly diagnostics: readonly Diagnostic[] /* warnings */ }
  | { readonly ok: false; readonly file: string | undefined; readonly diagnostics: readonly Diagnostic[]; readonly exitCode: 1 | 2 };

export interface LoadOptions {
  readonly cwd: string;
  /** `--pipeline FILE`, relative to cwd; skips discovery. */
  readonly file?: string;
  /**
   * Called with the targets once the file is parsed and before its processors are resolved (reading,
   * normalising and hashing their SQL: most of loading a large pipeline), so that a read-only command
   * can start opening its target beside it. Awaited; should not throw.
   */
  readonly onTargets?: (targets: ResolvedTargets) => Promise<void>;
}

function readTextOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Pipeline file first, then other files (SQL), each by line and column. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[], mainFile: string): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      Number(a.file !== mainFile) - Number(b.file !== mainFile) ||
      // Equal strings compare 0 without localeCompare, whose first call loads ICU's collator (~15 ms of a
      // start-up): a pipeline's warnings are usually all in one file, and rarely share a position.
      (a.file === b.file ? 0 : a.file.localeCompare(b.file)) ||
      a.line - b.line ||
      a.column - b.column ||
      (a.code === b.code ? 0 : a.code.localeCompare(b.code)),
  );
}

export async function loadPipeline(options: LoadOptions): Promise<LoadOutcome> {
  const found = await findPipelineFile(options.cwd, options.file);
  if (!found.ok) {
    const shown = found.file === undefined ? (options.file ?? 'pipeline.yaml') : displayPath(options.cwd, found.file);
    const code = found.reason === 'not-found' ? CODES.pipelineNotFound : found.reason === 'unreadable' ? CODES.unreadableFile : CODES.configLoadFailed;
    const hint =
      found.reason === 'not-found'
        ? options.file === undefined
          ? 'create pipeline.yaml (see docs/pipeline-yaml.md), run dag inside the project, or pass --pipeline FILE'
          : 'check the path given to --pipeline'
        : 'check that the file can be read and evaluated';
    const message =
      found.reason === 'not-found' && options.file !== undefined
        ? `pipeline file ${shown} does not exist`
        : `${found.reason === 'not-found' ? '' : `cannot read ${shown}: `}${found.message}`;
    const diagnostic: Diagnostic = { code, severity: 'error', message, file: shown, line: 0, column: 0, hint };
    return { ok: false, file: found.file, diagnostics: [diagnostic], exitCode: 2 };
  }

  const { config } = found;
  const shown = displayPath(options.cwd, config.file);
  let doc: ConfigDocument;
  const diagnostics: Diagnostic[] = [];
  if (config.kind === 'text') {
    const parsed = parseYamlDocument(config.file, shown, config.text, config.root);
    diagnostics.push(...parsed.diagnostics);
    if (!parsed.ok) return { ok: false, file: config.file, diagnostics: sortDiagnostics(diagnostics, shown), exitCode: 1 };
    doc = parsed.document;
  } else {
    doc = plainDocument(config.file, shown, config.value);
  }
  // An empty file is an empty mapping: the schema then says what is missing.
  if (doc.value === null || doc.value === undefined) doc = { ...doc, value: {} };

  diagnostics.push(...checkShape(doc));
  if (options.onTargets) await options.onTargets(targetsOf(doc, options.cwd));
  const globFiles = usesCodeGlobs(doc.value) ? await loadGlobFiles() : () => [];
  const { pipeline, reporter } = resolvePipeline(doc, { cwd: options.cwd, readText: readTextOrUndefined, globFiles });
  diagnostics.push(...reporter.diagnostics);
  const sorted = sortDiagnostics(diagnostics, shown);
  if (pipeline === undefined || sorted.some((d) => d.severity === 'error')) {
    return { ok: false, file: config.file, diagnostics: sorted, exitCode: 1 };
  }
  return { ok: true, pipeline, file: config.file, diagnostics: sorted };
}
