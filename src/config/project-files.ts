/**
 * The project folder (the folder of the pipeline file) as the boundary of what dag reads: SQL files
 * and code files must lie inside it, by their path and by their real path (a symlink may not lead
 * out), and code files are hashed for the fingerprint.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';

export interface ProjectFolder {
  /** Absolute, as written (resolved from the pipeline file's path). */
  readonly dir: string;
  /** The folder's real path, to compare real paths of files against. */
  readonly realDir: string;
  /** The folders files were found in, for one load of the pipeline: real path and entries (realFilePath). */
  readonly realFolders: Map<string, { readonly real: string | undefined; readonly entries: Map<string, 'link' | 'other'> | undefined }>;
}

export function projectFolder(dir: string): ProjectFolder {
  return { dir, realDir: realPathOrUndefined(dir) ?? dir, realFolders: new Map() };
}

function realPathOrUndefined(file: string): string | undefined {
  try {
    return realpathSync.native(file);
  } catch {
    return undefined;
  }
}

/**
 * A file's real path from its folder's, which is resolved once per folder, and whether the file is a
 * link from one listing of that folder: realpath(3) resolves every folder on the way for every file,
 * and an lstat per file cost as much again on this VM (2,000 SQL files in one folder: 75 + 34 ms of
 * loading the pipeline; issue 15). A file that is itself a link is resolved whole.
 */
function realFilePath(project: ProjectFolder, file: string): string | undefined {
  const folder = dirname(file);
  const name = basename(file);
  let known = project.realFolders.get(folder);
  if (known === undefined) {
    known = { real: realPathOrUndefined(folder), entries: listing(folder) };
    project.realFolders.set(folder, known);
  }
  const entry = known.entries?.get(name);
  if (entry === undefined || known.real === undefined) return existsSync(file) ? realPathOrUndefined(file) : undefined;
  return entry === 'link' ? realPathOrUndefined(file) : join(known.real, name);
}

/** A folder's entries, links told apart; undefined when it cannot be listed. */
function listing(folder: string): Map<string, 'link' | 'other'> | undefined {
  try {
    return new Map(readdirSync(folder, { withFileTypes: true }).map((entry) => [entry.name, entry.isSymbolicLink() ? 'link' : 'other']));
  } catch {
    return undefined;
  }
}

function isWithin(dir: string, file: string): boolean {
  const rel = relative(dir, file);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Where an absolute path lies: `inside` (or does not exist yet, and would be inside), `outside` by
 * its path, or `link-outside`: inside by its path, but a symlink (of it or of a folder on the way)
 * leads out of the project.
 */
export function placement(project: ProjectFolder, file: string): 'inside' | 'outside' | 'link-outside' {
  if (!isWithin(project.dir, file)) return 'outside';
  const real = realFilePath(project, file);
  return real === undefined || isWithin(project.realDir, real) ? 'inside' : 'link-outside';
}

/** The path as the fingerprint records it: relative to the project folder, `/`-separated. */
export function projectPath(project: ProjectFolder, file: string): string {
  return relative(project.dir, file).split(sep).join('/');
}

const CR = 0x0d;
const LF = 0x0a;

/**
 * sha256 of a file's bytes with every CRLF read as LF (a Windows checkout hashes like a Unix one);
 * undefined when it cannot be read. Any other byte counts: code files are hashed, not parsed.
 */
export function hashCodeFile(file: string): string | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  const hash = createHash('sha256');
  let from = 0;
  for (let at = bytes.indexOf(CR); at >= 0; at = bytes.indexOf(CR, at + 1)) {
    if (bytes[at + 1] !== LF) continue;
    hash.update(bytes.subarray(from, at));
    from = at + 1; // the LF that follows
  }
  hash.update(bytes.subarray(from));
  return hash.digest('hex');
}
