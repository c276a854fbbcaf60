import { describe, expect, it } from 'vitest'
import type { SchemaDrift } from '../../shared/contract'
import { driftSummary, stackDrift, versionColor } from './drift-chart'

const day = 86_400_000
const drift: SchemaDrift = {
  type: 'ItemAdded',
  versions: [1, 2],
  bucketDays: 1,
  buckets: [
    { start: Date.UTC(2025, 1, 17), end: Date.UTC(2025, 1, 17) + day, counts: [5, 0], total: 5 },
    { start: Date.UTC(2025, 1, 18), end: Date.UTC(2025, 1, 18) + day, counts: [3, 2], total: 5 },
    { start: Date.UTC(2025, 1, 19), end: Date.UTC(2025, 1, 19) + day, counts: [0, 7], total: 7 }
  ]
}

describe('the drift chart', () => {
  it('stacks the versions, oldest at the bottom, newest drawn first', () => {
    const stacked = stackDrift(drift)
    expect(stacked.x).toEqual(drift.buckets.map((b) => b.start / 1000))
    expect(stacked.end).toBe((Date.UTC(2025, 1, 19) + day) / 1000)
    expect(stacked.layers.map((l) => l.version)).toEqual([2, 1])
    expect(stacked.layers[0].tops).toEqual([5, 5, 7])
    expect(stacked.layers[0].counts).toEqual([0, 2, 7])
    expect(stacked.layers[1].tops).toEqual([5, 3, 0])
  })

  it('says what it shows in words', () => {
    expect(driftSummary(drift)).toBe('ItemAdded by schema version, 1-day buckets. v1: 8 from 2025-02-17 to 2025-02-18; v2: 9 from 2025-02-18 to 2025-02-19')
  })

  it('has an empty chart for a type without buckets', () => {
    expect(stackDrift({ type: 'X', versions: [1], bucketDays: 1, buckets: [] })).toEqual({ x: [], end: 0, layers: [{ version: 1, counts: [], tops: [] }] })
  })

  it('gives each version its own colour in either theme, the same whichever versions are left in the log', () => {
    expect(versionColor(1, false)).not.toBe(versionColor(2, false))
    expect(versionColor(1, true)).not.toBe(versionColor(1, false))
    expect(versionColor(2, false)).toBe('#0067b8')
    expect(versionColor(7, false)).toBe(versionColor(1, false))
  })
})
