/** Run ids sort by start time and are safe as folder names: `20211130T120501Z-3fa9`. */
export function newRunId(nowMs: number, random: () => number): string {
  const stamp = new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  const suffix = Math.floor(random() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `${stamp}-${suffix}`;
}
