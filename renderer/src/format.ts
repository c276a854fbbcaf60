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

/** `0 ms`, `850 ms`, `4.2 s`, `3 min`, `2.5 h`: how long ago, or how far behind. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`
  return `${(ms / 86_400_000).toFixed(1)} d`
}

/** A whole number with thousands separators: `1,234,567`. */
export function count(n: number | null | undefined): string {
  return typeof n === 'number' && Number.isFinite(n) ? Math.round(n).toLocaleString('en') : '—'
}

/** `12 ev/s`, `4.3k ev/s`, `1.2M ev/s`. */
export function rate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '0 ev/s'
  if (perSecond < 1000) return `${Math.round(perSecond)} ev/s`
  if (perSecond < 1_000_000) return `${(perSecond / 1000).toFixed(1)}k ev/s`
  return `${(perSecond / 1_000_000).toFixed(1)}M ev/s`
}

/**
 * A read-model cell's tooltip: the value, and for a whole number in a column named like a time (placedAt,
 * updated_at, recordedTime) that reads as milliseconds since 1970 between 1973 and 2286, that time in UTC.
 */
export function cellTitle(column: string, value: string | number | null | undefined, text: string): string {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1e11 && value < 1e13 && /(At|_at|Time|_time|^at|^time)$/.test(column)) {
    return `${text} = ${new Date(value).toISOString()}`
  }
  return text
}
