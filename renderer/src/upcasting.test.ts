import { describe, expect, it } from 'vitest'
import { readAsLabel, upcastBadge, upcastTitle } from './upcasting'

describe('what an event read through the upcasters was stored as', () => {
  it('shows nothing for an event read as stored', () => {
    expect(upcastBadge({ type: 'ItemAdded', schemaVersion: 2 })).toBeNull()
    expect(upcastTitle({ type: 'ItemAdded', schemaVersion: 2 })).toBe('')
  })

  it('shows the versions, the old name of a renamed event and the part of a split', () => {
    expect(upcastBadge({ type: 'ItemAdded', schemaVersion: 2, upcastedFrom: { type: 'ItemAdded', schemaVersion: 1 } })).toBe('v1 → v2')
    expect(upcastBadge({ type: 'CartLineAdded', schemaVersion: 3, upcastedFrom: { type: 'ItemAdded', schemaVersion: 1 } })).toBe('ItemAdded v1 → v3')
    expect(upcastBadge({ type: 'A', schemaVersion: 2, upcastedFrom: { type: 'AB', schemaVersion: 1 }, splitIndex: 0 })).toBe('AB v1 → v2 (part 1)')
    expect(upcastTitle({ type: 'ItemAdded', schemaVersion: 2, upcastedFrom: { type: 'ItemAdded', schemaVersion: 1 } })).toBe(
      'Stored as ItemAdded v1; read through the upcasters as ItemAdded v2'
    )
  })

  it('labels a replay step by what evolve saw', () => {
    expect(readAsLabel({ type: 'ItemAdded' }, undefined)).toBeNull()
    expect(readAsLabel({ type: 'ItemAdded' }, [{ type: 'ItemAdded', schemaVersion: 2 }])).toBe('read as v2')
    expect(readAsLabel({ type: 'ItemAdded' }, [{ type: 'CartLineAdded', schemaVersion: 1 }])).toBe('read as CartLineAdded v1')
    expect(readAsLabel({ type: 'ItemAdded' }, [{ type: 'A', schemaVersion: 1 }, { type: 'B', schemaVersion: 1 }])).toBe('read as 2 events')
    expect(readAsLabel({ type: 'ItemAdded' }, [])).toBe('read as no event')
  })
})
