/** What a command may touch of the outside world; tests and the entry point provide it. */
export interface CliIO {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  /**
   * stdout with backpressure: resolves once the stream can take more (after 'drain' when its buffer
   * is full). Long outputs (a plan's JSON) are written through writeChunks, which uses it when given.
   */
  readonly stdoutAsync?: (text: string) => Promise<void>;
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

/** A stream's write as a promise that waits for 'drain' when the stream's buffer is full; fails on a stream error (EPIPE). */
export function writeWithBackpressure(stream: NodeJS.WritableStream): (text: string) => Promise<void> {
  return (text) =>
    new Promise<void>((resolve, reject) => {
      if (stream.write(text)) return resolve();
      const done = (error?: Error): void => {
        stream.off('drain', done);
        stream.off('error', done);
        stream.off('close', done);
        if (error) reject(error);
        else resolve();
      };
      stream.on('drain', done);
      stream.on('error', done);
      stream.on('close', done);
    });
}

/** Bytes gathered before one write: big enough for few syscalls, small enough to stay bounded. */
const CHUNK_CHARS = 1 << 16;

/**
 * Writes text pieces to stdout in bounded chunks, waiting whenever the reader is slower than dag:
 * a plan of millions of partitions never becomes one string, nor an unbounded stream buffer.
 */
export async function writeChunks(io: CliIO, pieces: Iterable<string>): Promise<void> {
  const write = io.stdoutAsync ?? ((text: string) => Promise.resolve(io.stdout(text)));
  const parts: string[] = [];
  let length = 0;
  for (const piece of pieces) {
    parts.push(piece);
    length += piece.length;
    if (length >= CHUNK_CHARS) {
      await write(parts.join(''));
      parts.length = 0;
      length = 0;
    }
  }
  if (length > 0) await write(parts.join(''));
}
