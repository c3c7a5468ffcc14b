/**
 * Everything a user can fix is a Diagnostic: a stable code, a message, where, and what to do.
 * Errors are values; only bugs throw.
 */
export type Severity = 'error' | 'warning';

export interface Diagnostic {
  readonly code: string;
  readonly severity: Severity;
  readonly message: string;
  readonly file: string;
  /** 1-based; 0 when the problem has no position in the file (e.g. the file is missing). */
  readonly line: number;
  readonly column: number;
  readonly hint?: string;
}

/**
 * A failure the user caused or can act on (bad range, unknown processor, locked file). The CLI
 * prints its message in one line and exits with `exitCode`; anything else thrown is a bug.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 2,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
