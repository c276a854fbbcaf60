import type { SchemaDrift } from '../../shared/contract'

// The drift chart stacks the counts of each schema version per bucket: the oldest version at the bottom.

export interface DriftLayer {
  version: number
  /** Events of this version per bucket. */
  counts: number[]
  /** The top of this version's bar per bucket: its count plus those of the older versions under it. */
  tops: number[]
}

export interface StackedDrift {
  /** Bucket starts, in seconds (uPlot's time scale). */
  x: number[]
  /** Where the x axis ends: the end of the last bucket, so its bar shows whole. */
  end: number
  /** Newest version first: drawn first, each older layer drawn over the bottom of the ones above it. */
  layers: DriftLayer[]
}

export function stackDrift(drift: SchemaDrift): StackedDrift {
  const x = drift.buckets.map((b) => b.start / 1000)
  const running = drift.buckets.map(() => 0)
  const layers = drift.versions.map((version, i) => {
    const counts = drift.buckets.map((b) => b.counts[i] ?? 0)
    const tops = counts.map((n, k) => (running[k] += n))
    return { version, counts, tops }
  })
  const last = drift.buckets[drift.buckets.length - 1]
  return { x, end: last ? last.end / 1000 : 0, layers: layers.reverse() }
}

/** One line a screen reader (and a test) can read: each version's total and the buckets it was seen in. */
export function driftSummary(drift: SchemaDrift): string {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)
  const parts = drift.versions.map((version, i) => {
    const seen = drift.buckets.filter((b) => (b.counts[i] ?? 0) > 0)
    const total = seen.reduce((n, b) => n + (b.counts[i] ?? 0), 0)
    if (!seen.length) return `v${version}: none`
    return `v${version}: ${total.toLocaleString('en')} from ${day(seen[0].start)} to ${day(seen[seen.length - 1].end - 1)}`
  })
  return `${drift.type} by schema version, ${drift.bucketDays}-day buckets. ${parts.join('; ')}`
}

/** Colours per schema version (v1 first), readable on a light and on a dark background; a version keeps its colour. */
const palettes = {
  light: ['#c26a00', '#0067b8', '#2e7d32', '#7b3fb8', '#b0245f', '#00838f'],
  dark: ['#e5a04b', '#4fa3e0', '#89d185', '#b794e6', '#f083ad', '#4dd0e1']
}

export function versionColor(version: number, dark: boolean): string {
  const palette = dark ? palettes.dark : palettes.light
  return palette[(((version - 1) % palette.length) + palette.length) % palette.length]
}
