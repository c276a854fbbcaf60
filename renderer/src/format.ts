/** ISO 8601 in UTC, as the store records it. */
export function isoTime(ms: number | null | undefined): string {
  return typeof ms === 'number' ? new Date(ms).toISOString() : '—'
}

/** `2025-03-01 14:02:09` (UTC): short enough for a list column. */
export function shortTime(ms: number | null | undefined): string {
  return typeof ms === 'number' ? new Date(ms).toISOString().slice(0, 19).replace('T', ' ') : '—'
}

/** `14:02:09` for today, `2025-03-01` for an earlier day (UTC): for narrow table columns. */
export function compactTime(ms: number | null | undefined, now = Date.now()): string {
  if (typeof ms !== 'number') return '—'
  const iso = new Date(ms).toISOString()
  return iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10) ? iso.slice(11, 19) : iso.slice(0, 10)
}

/** Pretty JSON for read-only editors. */
export function prettyJson(value: unknown): string {
  return JSON.stringify(value ?? null, null, 2)
}

export function byteSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
