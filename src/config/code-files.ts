/**
 * The files a processor's code fingerprint covers besides its SQL or argv (DESIGN §3 "Code of
 * commands"): the files its command's argv names, and those its `code:` globs match. Read here, at
 * load time, so the core stays pure: the model carries each file's project path and content hash.
 */
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { CodeFile, ProcessorAction } from '../core/model.js';
import { CODES } from './codes.js';
import { isRecord, type Path } from './document.js';
import { hashCodeFile, placement, projectPath, type ProjectFolder } from './project-files.js';
import type { Reporter } from './report.js';

/** Substituted per batch: an argv item holding one is never a file of the project. */
const PLACEHOLDER = /\{(?:start|end|target)\}/;

/** The files (relative to `cwd`) a glob matches; injected, so the glob library loads only when needed. */
export type GlobFiles = (glob: string, cwd: string) => string[];

export interface CodeFileContext {
  readonly report: Reporter;
  readonly project: ProjectFolder;
  readonly globFiles: GlobFiles;
}

/** Does any processor of the file have `code:` globs? Only then is the glob library worth loading. */
export function usesCodeGlobs(top: unknown): boolean {
  const processors = isRecord(top) ? top.processors : undefined;
  return isRecord(processors) && Object.values(processors).some((raw) => isRecord(raw) && Array.isArray(raw.code) && raw.code.length > 0);
}

/** tinyglobby, loaded on first use (it costs every dag invocation otherwise): files only, no dot files. */
export async function loadGlobFiles(): Promise<GlobFiles> {
  const { globSync } = await import('tinyglobby');
  return (glob, cwd) => globSync(glob, { cwd, onlyFiles: true, dot: false });
}

function isFile(file: string): boolean {
  try {
    return statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false; // a name no file system accepts (too long, a NUL byte): an argument, not a file
  }
}

/** The path an argv item may name: the item itself, or the value of `--option=value`. */
function argvCandidate(arg: string): string | undefined {
  if (arg === '' || PLACEHOLDER.test(arg) || arg.includes('://')) return undefined;
  const equals = arg.indexOf('=');
  if (arg.startsWith('-') && equals > 0) return arg.slice(equals + 1) || undefined;
  return arg;
}

function addHashed(found: Map<string, CodeFile>, file: string, at: Path, processor: string, ctx: CodeFileContext): void {
  const path = projectPath(ctx.project, file);
  if (found.has(path)) return;
  const hash = hashCodeFile(file);
  if (hash === undefined) {
    ctx.report.error(
      CODES.codeFileUnreadable,
      at,
      'value',
      `processor ${processor}: ${path} cannot be read, so dag cannot tell when it changes`,
      'make the file readable by the user running dag',
    );
    return;
  }
  found.set(path, { path, hash });
}

function argvFiles(processor: string, argv: readonly string[], found: Map<string, CodeFile>, ctx: CodeFileContext): void {
  argv.forEach((arg, i) => {
    const candidate = argvCandidate(arg);
    if (candidate === undefined) return;
    const file = resolve(ctx.project.dir, candidate);
    if (!isFile(file)) return;
    const at = ['processors', processor, 'command', i];
    const where = placement(ctx.project, file);
    if (where === 'inside') {
      addHashed(found, file, at, processor, ctx);
      return;
    }
    // /usr/bin/jq is a program, not the project's code; ../shared/x.py is code dag cannot track.
    if (where === 'outside' && isAbsolute(candidate)) return;
    const how = where === 'outside' ? 'is outside the project folder' : 'is a link to a file outside the project folder';
    ctx.report.warning(
      CODES.commandFileOutsideProject,
      at,
      'value',
      `the command of ${processor} runs ${candidate}, which ${how}: dag does not track its edits, so its partitions stay fresh when it changes`,
      'move the file into the project folder (the folder of the pipeline file)',
    );
  });
}

/** A glob that reaches out of the project: absolute, or with a `..` segment (also inside braces). */
function escapes(glob: string): boolean {
  return isAbsolute(glob) || /(?:^|[/\\{,])\.\.(?:$|[/\\},])/.test(glob);
}

function globFiles(processor: string, globs: unknown, found: Map<string, CodeFile>, ctx: CodeFileContext): void {
  if (!Array.isArray(globs)) return; // the schema reported it
  globs.forEach((glob, j) => {
    if (typeof glob !== 'string' || glob === '') return;
    const at = ['processors', processor, 'code', j];
    if (escapes(glob)) {
      ctx.report.error(
        CODES.pathOutsideProject,
        at,
        'value',
        `processor ${processor}: code glob ${glob} reaches outside the project folder`,
        'write globs relative to the folder of the pipeline file, without .. (e.g. jobs/lib/**/*.py); keep the code inside the project',
      );
      return;
    }
    const matches = ctx.globFiles(glob, ctx.project.dir).sort();
    if (matches.length === 0) {
      ctx.report.warning(
        CODES.codeGlobEmpty,
        at,
        'value',
        `processor ${processor}: code glob ${glob} matches no file, so it tracks nothing`,
        'fix the glob (relative to the folder of the pipeline file), or remove it',
      );
      return;
    }
    const files = matches.map((match) => resolve(ctx.project.dir, match));
    const linked = files.filter((file) => placement(ctx.project, file) !== 'inside');
    if (linked.length > 0) {
      const first = projectPath(ctx.project, linked[0]!);
      const more = linked.length > 1 ? ` (and ${linked.length - 1} more)` : '';
      ctx.report.error(
        CODES.pathOutsideProject,
        at,
        'value',
        `processor ${processor}: code glob ${glob} matches ${first}${more}, a link to a file outside the project folder`,
        'keep the code inside the project folder: copy the file in, or narrow the glob',
      );
      return;
    }
    for (const file of files) addHashed(found, file, at, processor, ctx);
  });
}

/** Every code file of one processor, sorted by path, each once; problems go to the reporter. */
export function resolveCodeFiles(processor: string, raw: Record<string, unknown>, action: ProcessorAction, ctx: CodeFileContext): CodeFile[] {
  const found = new Map<string, CodeFile>();
  if (action.kind === 'command') argvFiles(processor, action.argv, found, ctx);
  globFiles(processor, raw.code, found, ctx);
  return [...found.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
