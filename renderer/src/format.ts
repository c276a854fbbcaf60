/** ISO 8601 in UTC, as the store records it. */
export function isoTime(ms: number | null | undefined): string {
  return typeof ms === 'number' ? new Date(ms).toISOString() : '—'
}

/** `2025-03-01 14:02:09` (UTC): short enough for a list column. */
export function shortTime(ms: number | null | undefined): string {
  return typeof ms === 'number' ? new Date(ms).toISOString().slice(0, 19).replace('T', ' ') : '—'
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
