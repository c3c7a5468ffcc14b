/**
 * The bin's entry point (bundled by scripts/bundle-cli.mjs): the only module that calls process.exit.
 * It wires the real process into CliIO and runs main(); main.ts stays importable without side effects
 * (test/docs.test.ts parses documented command lines with its program).
 */
import { main } from './main.js';
import { writeWithBackpressure, type CliIO } from './io.js';

const io: CliIO = {
  cwd: process.cwd(),
  env: process.env,
  stdout: (text) => void process.stdout.write(text),
  stdoutAsync: writeWithBackpressure(process.stdout),
  stderr: (text) => void process.stderr.write(text),
  isTTY: Boolean(process.stdout.isTTY),
  argv: process.argv.slice(2),
  exitCode: 0,
  doing: 'starting',
  die: (signal) => {
    // The default action of the signal ends the process at once (no exit handlers to wait for).
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    // SIGKILL and the default actions of SIGINT/SIGTERM never return; this only satisfies the type.
    return process.exit(128);
  },
};

// No top-level await: the bin runs this module bundled as CommonJS (scripts/bundle-cli.mjs).
void main(process.argv.slice(2), io).then((code) => {
  // Let stdout drain before exiting: piped output must not be cut.
  process.stdout.write('', () => (io.endWith ? io.die?.(io.endWith) : process.exit(code)));
});
