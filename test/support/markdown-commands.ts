/**
 * The `dag ...` command lines a Markdown page shows, for the docs test: in fenced shell blocks (every
 * line), after a `$ ` prompt in any block, as synopsis lines (`dag plan --range A..B [--json]`) in plain
 * blocks, and in inline code spans. Each keeps its file and line, and whether it is meant to be run as
 * written (`runnable`: shell blocks and prompts) or is a mention (a synopsis, `dag run --select X`).
 */
export interface ShownCommand {
  readonly file: string;
  readonly line: number;
  /** The words after `dag` (shell quoting removed). */
  readonly args: readonly string[];
  readonly text: string;
  readonly runnable: boolean;
  /** A prompt whose sample shows a usage error (`dag: ...` right below it): the error it must give. */
  readonly fails?: string;
}

/** A fenced block: its language, first content line (1-based) and lines. */
export interface FencedBlock {
  readonly lang: string;
  readonly line: number;
  readonly lines: readonly string[];
}

export function fencedBlocks(markdown: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*```(\S*)/.exec(lines[i]!);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    blocks.push({ lang: open[1] ?? '', line: start + 1, lines: lines.slice(start, end) });
    i = end;
  }
  return blocks;
}

const SHELL = new Set(['sh', 'bash', 'shell', 'console']);

/** Shell words of one command (up to `|`, `>`, `&&`, `;`, `#`), quotes removed. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\|\||&&|[|;>#]|2>)|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[3] !== undefined) break;
    words.push(m[1] ?? m[2] ?? m[4] ?? '');
  }
  return words;
}

/** Each `dag` (or `npx dag`) invocation in a shell line: `npm ci && npx dag run --range X # c` gives one. */
function invocations(line: string): string[] {
  const found: string[] = [];
  for (const m of line.matchAll(/(?:^|&&|\|\||;|\$\s)\s*(?:[A-Z_]+=\S+\s+)*(?:npx\s+)?dag(\s[^&|;#>]*|$)/g)) found.push(m[1]!.trim());
  return found;
}

export function shownCommands(file: string, markdown: string): ShownCommand[] {
  const shown: ShownCommand[] = [];
  const add = (line: number, text: string, runnable: boolean, fails?: string) =>
    shown.push({ file, line, text: `dag ${text}`.trim(), args: shellWords(text), runnable, ...(fails ? { fails } : {}) });
  const inBlocks = new Set<number>();
  for (const block of fencedBlocks(markdown)) {
    for (let i = 0; i < block.lines.length; i++) inBlocks.add(block.line + i);
    // A shell block's `\` continuations join the next line.
    const lines = block.lines
      .join('\n')
      .replace(/\\\n\s*/g, ' ')
      .split('\n');
    lines.forEach((text, i) => {
      const line = block.line + i;
      const prompt = /^\s*\$\s+(.*)$/.exec(text);
      const next = lines[i + 1] ?? '';
      if (prompt) for (const cmd of invocations(`$ ${prompt[1]}`)) add(line, cmd, true, next.startsWith('dag: ') ? next : undefined);
      else if (SHELL.has(block.lang)) for (const cmd of invocations(text.trim())) add(line, cmd, true);
      else if (block.lang === '' || block.lang === 'text') {
        // `npx dag ...` is a command to type; a bare `dag ...` line a synopsis (or dag's own output).
        if (/\bnpx dag\b/.test(text)) {
          for (const cmd of invocations(text.trim())) add(line, cmd, true);
          return;
        }
        const synopsis = /^\s*dag\s+([a-z][a-z-]*(?:\|[a-z]+)?\b.*)$/.exec(text);
        if (synopsis) add(line, synopsis[1]!, false);
      }
    });
  }
  markdown.split('\n').forEach((text, i) => {
    if (inBlocks.has(i + 1)) return;
    for (const m of text.matchAll(/`(?:npx )?dag( [^`]*)?`/g)) add(i + 1, (m[1] ?? '').trim(), false);
  });
  return shown;
}
