import { randomUUID } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { NewEvent, RecordedEvent } from '../../shared/model/events'
import type { EventStore } from './types'

export interface StoreHarness {
  store: EventStore
  /** Moves the store's clock forward (for maxAge); optional for backends without a controllable clock. */
  advanceClock?(ms: number): void
  /** Opens a second store on the same data (another connection or process), for cross-connection tests. */
  openAnother?(): Promise<EventStore>
  dispose(): Promise<void>
}

const ev = (type: string, data: Record<string, unknown> = {}, extra: Partial<NewEvent> = {}): NewEvent => ({ type, data, ...extra })

/** The behaviour every event store must have, written once against the EventStore interface. */
export function describeEventStoreConformance(name: string, open: () => Promise<StoreHarness>): void {
  describe(`${name}: event store conformance`, () => {
    let h: StoreHarness
    let store: EventStore
    beforeEach(async () => {
      h = await open()
      store = h.store
    })
    afterEach(async () => {
      await h.dispose()
    })

    describe('expected versions', () => {
      it('numbers a stream from version 1 and positions from 1 without gaps', async () => {
        const a = await store.appendToStream('order-1', [ev('OrderPlaced'), ev('ItemAdded')])
        const b = await store.appendToStream('cart-1', [ev('CartOpened')])
        expect(a).toMatchObject({ nextExpectedVersion: 2, firstPosition: 1, lastPosition: 2, duplicate: false })
        expect(b).toMatchObject({ nextExpectedVersion: 1, firstPosition: 3, lastPosition: 3 })
        const all = await store.readAll({ limit: 10 })
        expect(all.events.map((e) => [e.position, e.streamId, e.version])).toEqual([
          [1, 'order-1', 1],
          [2, 'order-1', 2],
          [3, 'cart-1', 1]
        ])
      })

      const matrix: Array<[string, number, 'any' | 'no-stream' | 'exists' | number, boolean]> = [
        ['any on a new stream', 0, 'any', true],
        ['any on an existing stream', 2, 'any', true],
        ['no-stream on a new stream', 0, 'no-stream', true],
        ['no-stream on an existing stream', 2, 'no-stream', false],
        ['exists on a new stream', 0, 'exists', false],
        ['exists on an existing stream', 2, 'exists', true],
        ['0 on a new stream', 0, 0, true],
        ['0 on an existing stream', 2, 0, false],
        ['the exact version', 2, 2, true],
        ['a stale version', 2, 1, false],
        ['a version from the future', 2, 3, false]
      ]
      for (const [label, existing, expected, ok] of matrix) {
        it(`${ok ? 'accepts' : 'rejects'} ${label}`, async () => {
          if (existing > 0) await store.appendToStream('s-1', Array.from({ length: existing }, (_, i) => ev('E', { i })))
          const attempt = store.appendToStream('s-1', [ev('X')], { expectedVersion: expected })
          if (ok) await expect(attempt).resolves.toMatchObject({ nextExpectedVersion: existing + 1 })
          else {
            await expect(attempt).rejects.toMatchObject({
              code: 'WrongExpectedVersion',
              details: { streamId: 's-1', expected, actual: existing }
            })
            const error = (await attempt.catch((e: unknown) => e)) as Error
            expect(error.message).toContain('s-1')
            expect(error.message).toContain(`actual ${existing}`)
            expect((await store.readStream('s-1')).version).toBe(existing)
          }
        })
      }

      it('stores all events of one call or none of them', async () => {
        await store.appendToStream('s-1', [ev('A')])
        const bad = store.appendToStream('s-1', [ev('B'), { type: 'C', data: 'not an object' as unknown as Record<string, unknown> }])
        await expect(bad).rejects.toMatchObject({ code: 'InvalidInput' })
        expect((await store.readStream('s-1')).events.map((e) => e.type)).toEqual(['A'])
        expect(await store.headPosition()).toBe(1)
      })
    })

    describe('events', () => {
      it('keeps type, data, metadata, id and schema version, and adds position, version and time', async () => {
        const id = randomUUID()
        const before = Date.now()
        await store.appendToStream('order-7', [ev('OrderPlaced', { total: 12.5, lines: [{ sku: 'a' }] }, { id, metadata: { correlationId: 'c-1' }, schemaVersion: 2 })])
        const [e] = (await store.readStream('order-7')).events
        expect(e).toMatchObject({ id, type: 'OrderPlaced', data: { total: 12.5, lines: [{ sku: 'a' }] }, metadata: { correlationId: 'c-1' }, schemaVersion: 2, version: 1, position: 1 })
        expect(e.recordedAt).toBeGreaterThanOrEqual(before - 1000)
        expect(await store.readEvent({ id })).toEqual(e)
        expect(await store.readEvent({ position: 1 })).toEqual(e)
        expect(await store.readEvent({ position: 99 })).toBeNull()
      })

      it('generates a UUID when no id is given and defaults the schema version to 1', async () => {
        await store.appendToStream('s-1', [ev('A')])
        const [e] = (await store.readStream('s-1')).events
        expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
        expect(e.schemaVersion).toBe(1)
        expect(e.metadata).toBeNull()
      })

      it('refuses an invalid stream id, a missing type and data that is not an object, naming what is wrong', async () => {
        await expect(store.appendToStream('', [ev('A')])).rejects.toMatchObject({ code: 'InvalidInput', message: expect.stringContaining('stream id') })
        await expect(store.appendToStream('bad\nid', [ev('A')])).rejects.toMatchObject({ code: 'InvalidInput' })
        await expect(store.appendToStream('x'.repeat(201), [ev('A')])).rejects.toMatchObject({ code: 'InvalidInput' })
        await expect(store.appendToStream('s-1', [{ data: {} } as unknown as NewEvent])).rejects.toMatchObject({ code: 'InvalidInput', message: expect.stringContaining('type') })
        await expect(store.appendToStream('s-1', [{ type: 'A', data: [1, 2] } as unknown as NewEvent])).rejects.toMatchObject({
          code: 'InvalidInput',
          message: expect.stringMatching(/data.*array/)
        })
        expect(await store.headPosition()).toBe(0)
      })

      it('refuses an event over 4 MiB and stores nothing', async () => {
        const big = 'x'.repeat(4 * 1024 * 1024 + 10)
        await expect(store.appendToStream('s-1', [ev('A'), ev('Big', { big })])).rejects.toMatchObject({ code: 'InvalidInput', message: expect.stringContaining('limit') })
        expect(await store.headPosition()).toBe(0)
      })
    })

    describe('idempotency', () => {
      it('returns the original result when the same events are appended again', async () => {
        const events = [ev('A', {}, { id: randomUUID() }), ev('B', {}, { id: randomUUID() })]
        const first = await store.appendToStream('s-1', events, { expectedVersion: 'no-stream' })
        const again = await store.appendToStream('s-1', events, { expectedVersion: 'no-stream' })
        expect(again).toEqual({ ...first, duplicate: true })
        expect((await store.readStream('s-1')).events).toHaveLength(2)
      })

      it('refuses an id that is already stored in another stream', async () => {
        const id = randomUUID()
        await store.appendToStream('s-1', [ev('A', {}, { id })])
        await expect(store.appendToStream('s-2', [ev('A', {}, { id })])).rejects.toMatchObject({ code: 'DuplicateEventId' })
        expect((await store.readStream('s-2')).state).toBe('missing')
      })

      it('refuses a repeat that only partly matches', async () => {
        const a = randomUUID()
        await store.appendToStream('s-1', [ev('A', {}, { id: a })])
        await expect(store.appendToStream('s-1', [ev('A', {}, { id: a }), ev('B', {}, { id: randomUUID() })])).rejects.toMatchObject({ code: 'DuplicateEventId' })
        await expect(store.appendToStream('s-1', [ev('B', {}, { id: randomUUID() }), ev('A', {}, { id: a })])).rejects.toMatchObject({ code: 'DuplicateEventId' })
        expect(await store.headPosition()).toBe(1)
      })
    })

    describe('reads', () => {
      beforeEach(async () => {
        await store.appendToStream('order-1', [ev('OrderPlaced', { n: 1 }, { metadata: { correlationId: 'c-1' } }), ev('ItemAdded', { n: 2 })])
        await store.appendToStream('cart-1', [ev('CartOpened', { n: 3 }, { metadata: { correlationId: 'c-1', causationId: 'x' } })])
        await store.appendToStream('order-2', [ev('OrderPlaced', { n: 4 }), ev('OrderShipped', { n: 5 })])
      })

      it('reads a stream forwards and backwards from a version with a limit', async () => {
        const fwd = await store.readStream('order-1', { from: 1, limit: 1 })
        expect(fwd.events.map((e) => e.version)).toEqual([1])
        expect(fwd.next).toBe(2)
        const back = await store.readStream('order-1', { direction: 'backwards', limit: 10 })
        expect(back.events.map((e) => e.version)).toEqual([2, 1])
        expect(back.next).toBeNull()
        expect(await store.readStream('nope-1')).toMatchObject({ state: 'missing', version: 0, events: [] })
      })

      it('reads $all forwards and backwards from a position, and pages without gaps', async () => {
        const seen: number[] = []
        let from: number | null = 1
        while (from !== null) {
          const page: Awaited<ReturnType<EventStore['readAll']>> = await store.readAll({ from, limit: 2 })
          seen.push(...page.events.map((e) => e.position))
          from = page.next
        }
        expect(seen).toEqual([1, 2, 3, 4, 5])
        const back = await store.readAll({ direction: 'backwards', limit: 2 })
        expect(back.events.map((e) => e.position)).toEqual([5, 4])
        expect(back.next).toBe(3)
        expect(back.headPosition).toBe(5)
      })

      it('reads by category, by event type, by correlation id and by position range', async () => {
        const positions = async (filter: Parameters<EventStore['readAll']>[0]) => (await store.readAll(filter)).events.map((e) => e.position)
        expect(await positions({ filter: { category: 'order' } })).toEqual([1, 2, 4, 5])
        expect(await positions({ filter: { types: ['OrderPlaced'] } })).toEqual([1, 4])
        expect(await positions({ filter: { types: ['OrderPlaced', 'CartOpened'] } })).toEqual([1, 3, 4])
        expect(await positions({ filter: { correlationId: 'c-1' } })).toEqual([1, 3])
        expect(await positions({ filter: { fromPosition: 2, toPosition: 4 } })).toEqual([2, 3, 4])
        expect(await positions({ filter: { category: 'order', types: ['OrderShipped'] } })).toEqual([5])
        expect(await positions({ filter: { streamId: 'order-2' } })).toEqual([4, 5])
      })

      it('lists streams with filters and counts', async () => {
        const all = await store.listStreams()
        expect(all.total).toBe(3)
        expect(all.streams.map((s) => s.streamId).sort()).toEqual(['cart-1', 'order-1', 'order-2'])
        const order1 = all.streams.find((s) => s.streamId === 'order-1')!
        expect(order1).toMatchObject({ category: 'order', version: 2, eventCount: 2, firstPosition: 1, lastPosition: 2, state: 'live' })
        expect((await store.listStreams({ category: 'order' })).total).toBe(2)
        expect((await store.listStreams({ nameContains: 'CART' })).streams.map((s) => s.streamId)).toEqual(['cart-1'])
        expect((await store.listStreams({ eventType: 'OrderShipped' })).streams.map((s) => s.streamId)).toEqual(['order-2'])
      })

      it('pages the stream list with a cursor, every stream once', async () => {
        const ids: string[] = []
        let after: string | undefined
        for (;;) {
          const page = await store.listStreams({ limit: 2, after })
          ids.push(...page.streams.map((s) => s.streamId))
          if (!page.next) break
          after = page.next
        }
        expect(ids.sort()).toEqual(['cart-1', 'order-1', 'order-2'])
      })

      it('counts events, streams, categories and types', async () => {
        const stats = await store.stats()
        expect(stats).toMatchObject({ events: 5, streams: 3, headPosition: 5 })
        expect(stats.categories).toContainEqual({ category: 'order', streams: 2, events: 4 })
        expect(stats.eventTypes).toContainEqual({ type: 'OrderPlaced', events: 2 })
      })
    })

    describe('metadata, deletes and scavenge', () => {
      const versions = async (id: string) => (await store.readStream(id, { limit: 100 })).events.map((e) => e.version)

      it('honours truncateBefore and maxCount in stream reads and in $all', async () => {
        await store.appendToStream('s-1', Array.from({ length: 5 }, (_, i) => ev('E', { i })))
        await store.setStreamMetadata('s-1', { truncateBefore: 3 })
        expect(await versions('s-1')).toEqual([3, 4, 5])
        await store.setStreamMetadata('s-1', { maxCount: 2 })
        expect(await versions('s-1')).toEqual([4, 5])
        expect((await store.readAll({ limit: 100 })).events.map((e) => e.version)).toEqual([4, 5])
        expect((await store.readStream('s-1', { direction: 'backwards' })).events.map((e) => e.version)).toEqual([5, 4])
        expect(await store.readEvent({ position: 1 })).toBeNull()
      })

      it('honours maxAge', async () => {
        if (!h.advanceClock) return
        await store.appendToStream('s-1', [ev('Old')])
        h.advanceClock(10_000)
        await store.appendToStream('s-1', [ev('New')])
        await store.setStreamMetadata('s-1', { maxAge: 5 })
        expect((await store.readStream('s-1')).events.map((e) => e.type)).toEqual(['New'])
      })

      it('keeps custom metadata fields', async () => {
        await store.appendToStream('s-1', [ev('E')])
        const info = await store.setStreamMetadata('s-1', { custom: { owner: 'team-a', tags: ['x'] } })
        expect(info.metadata).toEqual({ custom: { owner: 'team-a', tags: ['x'] } })
        expect((await store.streamInfo('s-1'))?.metadata.custom).toEqual({ owner: 'team-a', tags: ['x'] })
      })

      it('soft delete hides a stream; appending again revives it with versions continuing', async () => {
        await store.appendToStream('s-1', [ev('A'), ev('B')])
        await store.deleteStream('s-1', { mode: 'soft', expectedVersion: 2 })
        expect((await store.readStream('s-1')).events).toEqual([])
        expect((await store.listStreams()).total).toBe(0)
        expect((await store.listStreams({ includeDeleted: true })).streams[0].state).toBe('deleted')
        const revived = await store.appendToStream('s-1', [ev('C')], { expectedVersion: 2 })
        expect(revived.nextExpectedVersion).toBe(3)
        expect(await versions('s-1')).toEqual([3])
        expect((await store.listStreams()).streams[0]).toMatchObject({ streamId: 's-1', state: 'live' })
      })

      it('tombstone deletes a stream for good: later appends are refused', async () => {
        await store.appendToStream('s-1', [ev('A')])
        await store.deleteStream('s-1', { mode: 'tombstone' })
        expect((await store.readStream('s-1')).state).toBe('tombstoned')
        await expect(store.appendToStream('s-1', [ev('B')])).rejects.toMatchObject({ code: 'StreamDeleted' })
        expect((await store.readAll()).events).toEqual([])
      })

      it('delete checks the expected version', async () => {
        await store.appendToStream('s-1', [ev('A')])
        await expect(store.deleteStream('s-1', { expectedVersion: 5 })).rejects.toMatchObject({ code: 'WrongExpectedVersion' })
      })

      it('scavenge removes what metadata and deletes hide, reports it, and keeps visible reads unchanged', async () => {
        await store.appendToStream('keep-1', [ev('A'), ev('B')])
        await store.appendToStream('trunc-1', Array.from({ length: 4 }, () => ev('E')))
        await store.setStreamMetadata('trunc-1', { truncateBefore: 3 })
        await store.appendToStream('gone-1', [ev('A'), ev('B')])
        await store.deleteStream('gone-1', { mode: 'tombstone' })
        await store.appendToStream('soft-1', [ev('A')])
        await store.deleteStream('soft-1', { mode: 'soft' })
        await store.appendToStream('keep-1', [ev('Z')])
        const before = (await store.readAll({ limit: 100 })).events
        const report = await store.scavenge()
        expect(report.removedEvents).toBe(2 + 2 + 1)
        expect(report.byStream.map((s) => [s.streamId, s.removed]).sort()).toEqual([
          ['gone-1', 2],
          ['soft-1', 1],
          ['trunc-1', 2]
        ])
        expect((await store.readAll({ limit: 100 })).events).toEqual(before)
        expect((await store.stats()).events).toBe(5)
        await expect(store.appendToStream('gone-1', [ev('C')])).rejects.toMatchObject({ code: 'StreamDeleted' })
        const next = await store.appendToStream('keep-1', [ev('C')])
        expect(next.firstPosition).toBe(11)
      })
    })

    describe('subscriptions', () => {
      it('catches up from a position, then goes live, in order, with no gap and no duplicate', async () => {
        for (let i = 0; i < 30; i++) await store.appendToStream(`s-${i % 3}`, [ev('E', { i })])
        const seen: number[] = []
        const sub = store.subscribe({ after: 10, batchSize: 7 }, (e: RecordedEvent) => {
          seen.push(e.position)
        })
        await sub.caughtUp
        expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 11))
        for (let i = 0; i < 10; i++) await store.appendToStream('live-1', [ev('L', { i }), ev('L', { i })])
        await waitFor(() => seen.length === 40)
        expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i + 11))
        sub.close()
        await sub.done
        await store.appendToStream('after-1', [ev('X')])
        await new Promise((r) => setTimeout(r, 50))
        expect(seen).toHaveLength(40)
      })

      it('filters a subscription by category and type', async () => {
        const seen: string[] = []
        const sub = store.subscribe({ filter: { category: 'order', types: ['OrderPlaced'] } }, (e) => {
          seen.push(`${e.streamId}:${e.type}`)
        })
        await sub.caughtUp
        await store.appendToStream('order-1', [ev('OrderPlaced'), ev('ItemAdded')])
        await store.appendToStream('cart-1', [ev('OrderPlaced')])
        await store.appendToStream('order-2', [ev('OrderPlaced')])
        await waitFor(() => seen.length === 2)
        expect(seen).toEqual(['order-1:OrderPlaced', 'order-2:OrderPlaced'])
        sub.close()
      })

      it('sees events appended through another connection', async () => {
        if (!h.openAnother) return
        const other = await h.openAnother()
        try {
          const seen: number[] = []
          const sub = store.subscribe({}, (e) => {
            seen.push(e.position)
          })
          await sub.caughtUp
          await other.appendToStream('x-1', [ev('A'), ev('B')])
          await other.appendToStream('x-2', [ev('C')])
          await waitFor(() => seen.length === 3)
          expect(seen).toEqual([1, 2, 3])
          sub.close()
        } finally {
          await other.close()
        }
      })

      it('keeps optimistic concurrency exact across connections', async () => {
        if (!h.openAnother) return
        const other = await h.openAnother()
        try {
          await store.appendToStream('s-1', [ev('A')])
          await other.appendToStream('s-1', [ev('B')], { expectedVersion: 1 })
          await expect(store.appendToStream('s-1', [ev('C')], { expectedVersion: 1 })).rejects.toMatchObject({ code: 'WrongExpectedVersion', details: { actual: 2 } })
        } finally {
          await other.close()
        }
      })
    })
  })
}

export async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}
