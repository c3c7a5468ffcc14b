/** Collects diagnostics while the file is checked, positioned through the document. */
import { relative, isAbsolute } from 'node:path';
import type { Diagnostic, Severity } from '../core/diagnostics.js';
import type { DiagnosticCode } from './codes.js';
import type { ConfigDocument, Path, Position } from './document.js';

export class Reporter {
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    readonly doc: ConfigDocument,
    private readonly cwd: string,
  ) {}

  /** A problem at a key or value of the pipeline file. */
  add(severity: Severity, code: DiagnosticCode, path: Path, part: 'key' | 'value', message: string, hint: string): void {
    this.diagnostics.push({ code, severity, message, file: this.doc.displayFile, ...this.doc.position(path, part), hint });
  }

  error(code: DiagnosticCode, path: Path, part: 'key' | 'value', message: string, hint: string): void {
    this.add('error', code, path, part, message, hint);
  }

  warning(code: DiagnosticCode, path: Path, part: 'key' | 'value', message: string, hint: string): void {
    this.add('warning', code, path, part, message, hint);
  }

  /** A problem inside another file (a SQL file), at a position computed by the caller. */
  inFile(severity: Severity, code: DiagnosticCode, file: string, at: Position, message: string, hint: string): void {
    this.diagnostics.push({ code, severity, message, file: displayPath(this.cwd, file), ...at, hint });
  }

  /** "pipeline.yaml:12:7", for hints that point at a second place. */
  where(path: Path, part: 'key' | 'value' = 'key'): string {
    const { line, column } = this.doc.position(path, part);
    return line === 0 ? this.doc.displayFile : `${this.doc.displayFile}:${line}:${column}`;
  }

  get errorCount(): number {
    return this.diagnostics.filter((d) => d.severity === 'error').length;
  }
}

/** Relative to the working directory when inside it (what CI annotations and people expect). */
export function displayPath(cwd: string, file: string): string {
  const rel = relative(cwd, file);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

/** 1-based line and column of a character offset in text. */
export function positionInText(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
