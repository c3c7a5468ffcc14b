/** What a command may touch of the outside world; tests and the entry point provide it. */
export interface CliIO {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** stdout is a terminal: live progress and colour are allowed (colour also needs NO_COLOR unset). */
  readonly isTTY: boolean;
  /** The command line as typed, recorded in `_dag.runs`. */
  readonly argv: readonly string[];
  /** Commands set this; the entry point exits with it. */
  exitCode: number;
  /** What dag is doing now, for the one-line internal-error message. */
  doing: string;
  /**
   * Set when the process must end by this signal instead of exiting (a thread stuck in the kernel,
   * e.g. an abandoned DuckDB read, would keep a normal exit waiting forever). The entry point raises it
   * once stdout has drained.
   */
  endWith?: NodeJS.Signals;
  /** Ends the process at once by `signal` (a second Ctrl-C); provided by the entry point. */
  readonly die?: (signal: NodeJS.Signals) => never;
}

export function useColor(io: CliIO): boolean {
  return io.isTTY && (io.env.NO_COLOR === undefined || io.env.NO_COLOR === '') && io.env.TERM !== 'dumb';
}
