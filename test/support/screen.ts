/**
 * A small terminal: replays what a program wrote (text, CR/LF and the ANSI cursor and erase sequences
 * cli-progress and readline use) onto a grid of lines, and returns what a person would see last. Lets
 * a test tell a clean repaint from bars drawn twice or a message painted over.
 */
export function screenOf(raw: string): string[] {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = (): string[] => (lines[row] ??= []);
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\u001b') {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the escape sequences this replays
      const csi = /^\u001b\[([?0-9;]*)([A-Za-z])/.exec(raw.slice(i));
      if (!csi) {
        i += 1; // ESC 7 / ESC 8 and the like: no effect on what is shown here
        continue;
      }
      i += csi[0].length - 1;
      const [, params = '', command] = csi;
      const n = params === '' || params.startsWith('?') ? 1 : Number(params.split(';')[0]);
      switch (command) {
        case 'A':
          row = Math.max(0, row - n);
          break;
        case 'B':
          row += n;
          break;
        case 'C':
          col += n;
          break;
        case 'D':
          col = Math.max(0, col - n);
          break;
        case 'G':
          col = n - 1;
          break;
        case 'K': {
          const mode = params === '' ? 0 : Number(params);
          if (mode === 0) line().splice(col);
          else if (mode === 1) for (let c = 0; c <= col; c++) line()[c] = ' ';
          else lines[row] = [];
          break;
        }
        case 'J':
          line().splice(col);
          lines.splice(row + 1);
          break;
        default:
          break; // h/l (cursor visibility, line wrapping), m (colour)
      }
      continue;
    }
    if (ch === '\r') col = 0;
    else if (ch === '\n') {
      row += 1;
      col = 0;
    } else {
      const l = line();
      while (l.length < col) l.push(' ');
      l[col] = ch;
      col += 1;
    }
  }
  const shown = Array.from(lines, (l) => (l ?? []).join('').trimEnd());
  while (shown.length > 0 && shown[shown.length - 1] === '') shown.pop();
  return shown;
}
