/**
 * `dag run` on a real terminal, through the real CLI: a pseudo-terminal (Python's pty module; the
 * test skips, saying why, where python3 is missing) on which a person presses Ctrl-C while a job runs.
 * The line discipline sends SIGINT and echoes ^C, as a terminal does. What the person sees last
 * (test/support/screen.ts replays the bytes) must be clean: the Ctrl-C notice once, above the bars;
 * each bar once, not filled by the cancel; no stray ^C; the cursor given back; exit 130.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { dagBin } from './support/cli.js';
import { screenOf } from './support/screen.js';
import { copySql, isoDay, makeProject, pipelineYaml } from './fixtures/run/project.js';

/** Runs argv on a 30×120 pty; presses Ctrl-C once `trigger` has appeared; prints the bytes, exits with the child's code. */
const PTY_DRIVER = String.raw`
import fcntl, os, pty, select, struct, sys, termios, time
trigger, argv = sys.argv[1].encode(), sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 120, 0, 0))
out, sent, start = b'', False, time.time()
while True:
    if select.select([fd], [], [], 0.1)[0]:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    if not sent and trigger in out:
        time.sleep(0.3)
        os.write(fd, b'\x03')
        sent = True
    if time.time() - start > 90:
        os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
`;

const python = spawnSync('python3', ['-c', 'import pty, termios'], { encoding: 'utf8' });
const noPty = python.status !== 0 ? `python3 with the pty module is not available (${python.error?.message ?? python.stderr.trim()})` : undefined;
if (noPty) console.warn(`skipping the terminal test: ${noPty}`);

describe.skipIf(noPty !== undefined)('dag run on a terminal', () => {
  it('Ctrl-C while a job runs: the notice above the bars, each bar once and not filled, no stray ^C, the cursor back, exit 130', async () => {
    const yaml = pipelineYaml(`  FAST:
    table: p.fast
    upstream: [src]
    sql: sql/fast.sql
  SLOW:
    table: p.slow
    upstream: [src]
    command: [sleep, "60"]
    batch_size: 1
    concurrency: 1
    allow_empty: true
`);
    const p = await makeProject(yaml, { 'sql/fast.sql': copySql('src') }, 3);
    const driven = spawnSync(
      'python3',
      ['-c', PTY_DRIVER, '1 running', process.execPath, dagBin, 'run', '--range', `${isoDay(0)}..${isoDay(2)}`, '--concurrency', '1'],
      {
        cwd: p.dir,
        env: { ...process.env, NO_COLOR: '1', TERM: 'xterm' },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    const raw = driven.stdout;
    expect(driven.status, raw).toBe(130);
    const screen = screenOf(raw);
    const shown = screen.join('\n');
    const bars = (name: string) => screen.filter((line) => line.startsWith(`${name} `) && /[█░]/.test(line));
    expect(bars('FAST'), shown).toEqual([expect.stringMatching(/^FAST\s+█{20}\s+3\/3$/)]);
    // The running job was interrupted and the other two never started: the bar stays empty.
    expect(bars('SLOW'), shown).toEqual([expect.stringMatching(/^SLOW\s+░{20}\s+0\/3 {2}3 cancelled$/)]);
    const notices = screen.filter((line) => line.includes('SIGINT: cancelling run'));
    expect(notices, shown).toHaveLength(1);
    expect(screen.indexOf(notices[0]!)).toBeLessThan(screen.indexOf(bars('FAST')[0]!));
    expect(shown).not.toContain('^C');
    expect(shown).toMatch(/: cancelled$/m);
    expect(raw.lastIndexOf('\u001b[?25h')).toBeGreaterThan(raw.lastIndexOf('\u001b[?25l'));
  }, 150_000);
});
