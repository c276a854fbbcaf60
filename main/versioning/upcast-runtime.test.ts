import { describe, expect, it } from 'vitest'
import { buildRegistry, dryRun, shapeMismatches, sourceTypes, upcastAll, upcastAllIndexed, type UpcasterSource } from './upcast-runtime'

const step = (file: string, value: Record<string, unknown>): UpcasterSource => ({ file, exportName: 'default', value: { kind: 'upcaster', ...value } })
const event = (type: string, schemaVersion: number, data: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ type, schemaVersion, data, position: 7, streamId: 's-1', version: 3, id: 'e-1', metadata: { correlationId: 'c' }, recordedAt: 1, ...extra })

const priceV1toV2 = step('upcasters/a.ts', { eventType: 'ItemAdded', fromVersion: 1, toVersion: 2, upcast: (d: { price: string }) => ({ priceCents: Math.round(Number(d.price) * 100) }) })
const v2toV3 = step('upcasters/b.ts', { eventType: 'ItemAdded', fromVersion: 2, toVersion: 3, upcast: (d: { priceCents: number }) => ({ ...d, currency: 'EUR' }) })

describe('upcaster chains', () => {
  it('compose v1 → v2 → v3, keep the event envelope, and record where the event came from', () => {
    const registry = buildRegistry([v2toV3, priceV1toV2])
    expect(registry.problems).toEqual([])
    const [read] = upcastAll(registry, [event('ItemAdded', 1, { price: '12.50' })])
    expect(read).toMatchObject({ type: 'ItemAdded', schemaVersion: 3, data: { priceCents: 1250, currency: 'EUR' }, position: 7, streamId: 's-1', version: 3, id: 'e-1', upcastedFrom: { type: 'ItemAdded', schemaVersion: 1 } })
    // A middle version enters the chain where it stands; the newest passes as the same object.
    expect(upcastAll(registry, [event('ItemAdded', 2, { priceCents: 5 })])[0]).toMatchObject({ schemaVersion: 3, data: { priceCents: 5, currency: 'EUR' }, upcastedFrom: { schemaVersion: 2 } })
    const newest = event('ItemAdded', 3, { priceCents: 5, currency: 'USD' })
    expect(upcastAll(registry, [newest])[0]).toBe(newest)
  })

  it('rename a type and go on with the new type’s steps; readers selecting by type learn the old name', () => {
    const registry = buildRegistry([
      step('upcasters/rename.ts', { eventType: 'CustomerSignedUp', fromVersion: 1, toVersion: 2, toType: 'CustomerRegistered', upcast: (d: object) => d }),
      step('upcasters/name.ts', { eventType: 'CustomerRegistered', fromVersion: 2, toVersion: 3, upcast: ({ name }: { name: string }) => ({ firstName: name.split(' ')[0], lastName: name.split(' ').slice(1).join(' ') }) })
    ])
    expect(registry.problems).toEqual([])
    expect(upcastAll(registry, [event('CustomerSignedUp', 1, { name: 'Ada King Lovelace' })])[0]).toMatchObject({
      type: 'CustomerRegistered',
      schemaVersion: 3,
      data: { firstName: 'Ada', lastName: 'King Lovelace' },
      upcastedFrom: { type: 'CustomerSignedUp', schemaVersion: 1 }
    })
    expect(sourceTypes(registry, ['CustomerRegistered']).sort()).toEqual(['CustomerRegistered', 'CustomerSignedUp'])
    expect(sourceTypes(registry, ['Other'])).toEqual(['Other'])
  })

  it('split one stored event into several, each continuing its own chain, indexed back to the stored event', () => {
    const registry = buildRegistry([
      step('upcasters/split.ts', {
        eventType: 'OrderPlacedAndPaid',
        fromVersion: 1,
        toVersion: 2,
        split: true,
        upcast: (d: { orderId: string; amount: string }) => [
          { type: 'OrderPlaced', data: { orderId: d.orderId }, schemaVersion: 1 },
          { type: 'OrderPaid', data: { orderId: d.orderId, amount: d.amount }, schemaVersion: 1 }
        ]
      }),
      step('upcasters/paid.ts', { eventType: 'OrderPaid', fromVersion: 1, toVersion: 2, upcast: (d: { orderId: string; amount: string }) => ({ orderId: d.orderId, amountCents: Number(d.amount) * 100 }) })
    ])
    expect(registry.problems).toEqual([])
    const { events, source } = upcastAllIndexed(registry, [event('Other', 1, {}), event('OrderPlacedAndPaid', 1, { orderId: 'o1', amount: '3' })])
    expect(events.map((e) => [e.type, e.schemaVersion, e.data, e.splitIndex ?? null])).toEqual([
      ['Other', 1, {}, null],
      ['OrderPlaced', 1, { orderId: 'o1' }, 0],
      ['OrderPaid', 2, { orderId: 'o1', amountCents: 300 }, 1]
    ])
    expect(source).toEqual([0, 1, 1])
  })

  it('refuse gaps, overlaps and two upcasters for one step, naming the files; other types still read', () => {
    const gap = buildRegistry([priceV1toV2, step('upcasters/c.ts', { eventType: 'ItemAdded', fromVersion: 3, toVersion: 4, upcast: (d: object) => d })])
    expect(gap.problems).toEqual([
      { file: 'upcasters/c.ts', exportName: 'default', eventType: 'ItemAdded', message: 'ItemAdded: no upcaster from v2 to v3 (a gap between v1 → v2 in upcasters/a.ts and v3 → v4 in upcasters/c.ts)' }
    ])
    expect(() => upcastAll(gap, [event('ItemAdded', 1, { price: '1.00' })])).toThrow('Cannot read ItemAdded: ItemAdded: no upcaster from v2 to v3')
    const other = event('Other', 1, { a: 1 })
    expect(upcastAll(gap, [other])[0]).toBe(other)

    const twice = buildRegistry([priceV1toV2, step('upcasters/again.ts', { eventType: 'ItemAdded', fromVersion: 1, toVersion: 2, upcast: (d: object) => d })])
    expect(twice.problems.map((p) => p.message)).toEqual(['Two upcasters for ItemAdded v1: upcasters/a.ts and upcasters/again.ts; keep one'])

    const overlap = buildRegistry([step('upcasters/x.ts', { eventType: 'T', fromVersion: 1, toVersion: 3, upcast: (d: object) => d }), step('upcasters/y.ts', { eventType: 'T', fromVersion: 2, toVersion: 4, upcast: (d: object) => d })])
    expect(overlap.problems[0].message).toBe('T: v1 → v3 in upcasters/x.ts skips over v2 → v4 in upcasters/y.ts; steps must not overlap')

    const bad = buildRegistry([step('upcasters/z.ts', { eventType: 'T', fromVersion: 2, toVersion: 2, upcast: (d: object) => d }), step('upcasters/w.ts', { fromVersion: 1, toVersion: 2 })])
    expect(bad.problems.map((p) => p.message)).toEqual(['upcasters/z.ts: T needs whole versions with toVersion above fromVersion, or at least fromVersion for a rename (got 2 → 2)', 'upcasters/w.ts: an upcaster needs eventType, the stored type it reads'])
  })

  it('name the step when an upcaster throws or returns something that is not data', () => {
    const forgot = buildRegistry([step('upcasters/a.ts', { eventType: 'T', fromVersion: 1, toVersion: 2, upcast: () => undefined })])
    expect(() => upcastAll(forgot, [event('T', 1, {})])).toThrow('upcasters/a.ts: T v1 → v2 must return the new data as an object, got undefined (did upcast forget to return?)')
    const throws = buildRegistry([step('upcasters/a.ts', { eventType: 'T', fromVersion: 1, toVersion: 2, upcast: () => { throw new Error('no price') } })])
    expect(() => upcastAll(throws, [event('T', 1, {})])).toThrow('no price')
  })
})

describe('dry-runs', () => {
  it('count transformed, unchanged and failed events per stored version, keep failures, samples and schema mismatches', () => {
    const registry = buildRegistry([
      step('upcasters/a.ts', {
        eventType: 'ItemAdded',
        fromVersion: 1,
        toVersion: 2,
        upcast: (d: { price: string; sku: string }) => {
          if (!/^\d+\.\d\d$/.test(d.price)) throw new Error(`not a price: ${d.price}`)
          return { sku: d.sku, priceCents: Math.round(Number(d.price) * 100), ...(d.sku === 'odd' ? { extra: true } : {}) }
        }
      })
    ])
    const events = [
      event('ItemAdded', 1, { sku: 'a', price: '1.00' }, { position: 1 }),
      event('ItemAdded', 1, { sku: 'b', price: 'free' }, { position: 2 }),
      event('ItemAdded', 1, { sku: 'odd', price: '2.00' }, { position: 3 }),
      event('ItemAdded', 2, { sku: 'c', priceCents: 5 }, { position: 4 })
    ]
    const expected = { ItemAdded: { schemaVersion: 2, fields: { sku: { types: ['string'], required: true }, priceCents: { types: ['integer'], required: true } } } }
    const report = dryRun(registry, { events, expected, samples: 5, failures: 5 }) as {
      counts: unknown[]
      failures: Array<{ event: { position: number }; message: string }>
      samples: Array<{ key: string; after: unknown[] }>
      mismatches: Array<{ event: { position: number }; reasons: string[] }>
    }
    expect(report.counts).toEqual([
      { type: 'ItemAdded', schemaVersion: 1, transformed: 2, unchanged: 0, failed: 1, mismatched: 1 },
      { type: 'ItemAdded', schemaVersion: 2, transformed: 0, unchanged: 1, failed: 0, mismatched: 0 }
    ])
    expect(report.failures.map((f) => [f.event.position, f.message])).toEqual([[2, 'not a price: free']])
    expect(report.samples).toHaveLength(1)
    expect(report.samples[0]).toMatchObject({ key: 'ItemAdded@1', after: [{ data: { sku: 'a', priceCents: 100 } }] })
    expect(report.mismatches.map((m) => [m.event.position, m.reasons])).toEqual([[3, ['extra is not a field of ItemAdded v2']]])
  })

  it('describe how an event differs from the newest shape', () => {
    const expected = { schemaVersion: 2, fields: { a: { types: ['integer'], required: true }, b: { types: ['string', 'null'], required: false } } }
    expect(shapeMismatches({ type: 'T', schemaVersion: 2, data: { a: 1 } }, expected)).toEqual([])
    expect(shapeMismatches({ type: 'T', schemaVersion: 2, data: { a: 1.5, b: null } }, expected)).toEqual(['a is number, expected integer'])
    expect(shapeMismatches({ type: 'T', schemaVersion: 1, data: { b: 3 } }, expected)).toEqual(['schema version 1, the newest in the log is 2', 'a is missing', 'b is integer, expected string | null'])
  })
})

describe('renames', () => {
  it('may keep the version, but not loop', () => {
    const loop = buildRegistry([
      step('upcasters/a.ts', { eventType: 'A', fromVersion: 1, toVersion: 1, toType: 'B', upcast: (d: object) => d }),
      step('upcasters/b.ts', { eventType: 'B', fromVersion: 1, toVersion: 1, toType: 'A', upcast: (d: object) => d })
    ])
    expect(loop.problems.map((p) => p.message)).toEqual(['A v1: the upcasters form a loop (A v1 → B v1 → A v1)', 'B v1: the upcasters form a loop (B v1 → A v1 → B v1)'])
    expect(() => upcastAll(loop, [event('A', 1, {})])).toThrow('Cannot read A')
  })
})
