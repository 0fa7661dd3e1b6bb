/** Formats rows as aligned columns under a header (for people; scripts use --json). */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return `${[line(header), ...rows.map(line)].join('\n')}\n`
}

/** A peer ID shortened for tables: the last 8 characters are what people compare. */
export function shortPeerId(peerId: string | null): string {
  if (peerId === null) return '-'
  return peerId.length > 16 ? `${peerId.slice(0, 6)}…${peerId.slice(-8)}` : peerId
}

/** Milliseconds as a short age: `350ms`, `4.2s`, `3m`. */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms)) return 'never'
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`
  return `${Math.round(ms / 3_600_000)}h`
}
