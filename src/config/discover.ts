/**
 * Finding and reading the pipeline file. cosmiconfig walks from the working directory up to the
 * filesystem root, one folder at a time, looking for pipeline.yaml, dag.config.* or a `dag` key in
 * package.json; `--pipeline FILE` skips the search. YAML/JSON files are returned as text so that
 * document.ts can parse them with positions; JS/TS configs are evaluated by cosmiconfig.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Loader } from 'cosmiconfig';

export const SEARCH_PLACES = [
  'pipeline.yaml',
  'pipeline.yml',
  'dag.config.yaml',
  'dag.config.yml',
  'dag.config.json',
  'dag.config.js',
  'dag.config.mjs',
  'dag.config.cjs',
  'dag.config.ts',
  'package.json',
] as const;

/** What was found: text to parse with positions, or an evaluated value (JS/TS configs). */
export type FoundConfig =
  | { readonly kind: 'text'; readonly file: string; readonly text: string; readonly root: readonly string[] }
  | { readonly kind: 'value'; readonly file: string; readonly value: unknown };

export type FindOutcome =
  | { readonly ok: true; readonly config: FoundConfig }
  | { readonly ok: false; readonly reason: 'not-found' | 'unreadable' | 'load-failed'; readonly file: string | undefined; readonly message: string };

/** Configs cosmiconfig evaluates; every other file (YAML, JSON, no extension) is read as text. */
const CODE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']);

function isPackageJson(file: string): boolean {
  return basename(file) === 'package.json';
}

/** Loader for files we parse ourselves: a marker, so cosmiconfig reports where it found them. */
const keepText: Loader = () => ({ keepText: true });
/** package.json counts only when it has a `dag` key; a broken one is skipped like an absent one. */
const packageJson: Loader = (file, content) => {
  if (!isPackageJson(file)) return keepText(file, content);
  try {
    return JSON.parse(content) as unknown;
  } catch {
    return {};
  }
};

/**
 * JS configs load with import() alone. cosmiconfig's loader retries a failed import() with
 * require(), which replaces a plain "SyntaxError: Unexpected end of input" with a confusing
 * "Cannot require() ES Module ... not yet fully loaded".
 */
const importJs: Loader = async (file) => {
  const url = pathToFileURL(file).href;
  // The bin runs dag bundled as a vm.Script, where import() has no loader: it lends its own.
  const lent = (globalThis as Record<symbol, unknown>)[Symbol.for('dag-partitions.import')] as ((url: string) => Promise<unknown>) | undefined;
  const loaded = (await (lent ? lent(url) : import(url))) as { default?: unknown };
  return loaded.default;
};

/** cosmiconfig is imported on demand: the common case (pipeline.yaml in cwd) does without it. */
async function explorer() {
  const { cosmiconfig, defaultLoaders } = await import('cosmiconfig');
  return cosmiconfig('dag', {
    searchPlaces: [...SEARCH_PLACES],
    packageProp: 'dag',
    searchStrategy: 'none',
    ignoreEmptySearchPlaces: false,
    cache: false,
    loaders: {
      ...defaultLoaders,
      '.js': importJs,
      '.mjs': importJs,
      '.cjs': importJs,
      '.yaml': keepText,
      '.yml': keepText,
      '.json': packageJson,
      noExt: keepText,
    },
  });
}

async function readFound(file: string): Promise<FindOutcome> {
  const extension = extname(file);
  try {
    if (!CODE_EXTENSIONS.has(extension)) {
      const text = await readFile(file, 'utf8');
      return { ok: true, config: { kind: 'text', file, text, root: isPackageJson(file) ? ['dag'] : [] } };
    }
  } catch (error) {
    return { ok: false, reason: 'unreadable', file, message: describe(error) };
  }
  try {
    const result = await (await explorer()).load(file);
    return { ok: true, config: { kind: 'value', file, value: result?.config } };
  } catch (error) {
    return { ok: false, reason: 'load-failed', file, message: describe(error) };
  }
}

/** Finds the pipeline file: `file` (relative to cwd) if given, else the nearest one from cwd up. */
export async function findPipelineFile(cwd: string, file: string | undefined): Promise<FindOutcome> {
  if (file !== undefined) {
    const path = resolve(cwd, file);
    try {
      const info = await stat(path);
      if (!info.isFile()) return { ok: false, reason: 'unreadable', file: path, message: 'it is not a file' };
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      return { ok: false, reason: missing ? 'not-found' : 'unreadable', file: path, message: missing ? 'no such file' : describe(error) };
    }
    return readFound(path);
  }
  // The first search place in the working directory wins whatever else exists, so when it can be
  // read there is no need to search (what cosmiconfig would return); anything else searches as before.
  const nearest = join(resolve(cwd), SEARCH_PLACES[0]);
  const text = await readFile(nearest, 'utf8').catch(() => undefined);
  if (text !== undefined) return { ok: true, config: { kind: 'text', file: nearest, text, root: [] } };
  const search = await explorer();
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    let found: string | undefined;
    try {
      found = (await search.search(dir))?.filepath;
    } catch (error) {
      const failed = (error as { filepath?: string }).filepath;
      return { ok: false, reason: 'load-failed', file: failed, message: describe(error) };
    }
    if (found !== undefined) return readFound(found);
    if (dirname(dir) === dir) break;
  }
  return { ok: false, reason: 'not-found', file: undefined, message: `no pipeline.yaml found in ${cwd} or any folder above it` };
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const first = message.split('\n')[0] ?? message;
  // "Unexpected end of input" alone does not say it is the file's syntax.
  return error instanceof SyntaxError && !first.startsWith('SyntaxError') ? `SyntaxError: ${first}` : first;
}
