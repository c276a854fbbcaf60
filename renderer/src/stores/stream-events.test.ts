import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { fakeClient, installFakeClient, recordedEvent } from './fake-client'
import { useStreamEventsStore } from './stream-events'

beforeEach(() => setActivePinia(createPinia()))

const page = (versions: number[], next: number | null) => ({
  streamId: 'order-1',
  version: 120,
  state: 'live' as const,
  events: versions.map((v) => recordedEvent(v, { version: v })),
  next
})

describe("a stream's events", () => {
  it('reads the newest page first, backwards from the end', async () => {
    const readStream = vi.fn().mockResolvedValue(page([120, 119], 118))
    installFakeClient(fakeClient({ store: { readStream } }))
    const events = useStreamEventsStore()
    await events.openStream('order-1')
    expect(readStream).toHaveBeenCalledWith({ streamId: 'order-1', from: undefined, direction: 'backwards', limit: 50 })
    expect(events.events.map((e) => e.version)).toEqual([120, 119])
    expect(events.version).toBe(120)
    expect(events.next).toBe(118)
  })

  it('pages forward with next and back to where it was', async () => {
    const readStream = vi
      .fn()
      .mockResolvedValueOnce(page([1, 2], 3))
      .mockResolvedValueOnce(page([1, 2], 3))
      .mockResolvedValueOnce(page([3, 4], 5))
      .mockResolvedValueOnce(page([1, 2], 3))
    installFakeClient(fakeClient({ store: { readStream } }))
    const events = useStreamEventsStore()
    await events.openStream('order-1')
    await events.setNewestFirst(false)
    await events.nextPage()
    expect(readStream.mock.calls[2][0]).toEqual({ streamId: 'order-1', from: 3, direction: 'forwards', limit: 50 })
    expect(events.events.map((e) => e.version)).toEqual([3, 4])
    await events.previousPage()
    expect(readStream.mock.calls[3][0]).toMatchObject({ from: undefined, direction: 'forwards' })
    expect(events.previous).toEqual([])
  })

  it('names the stream when it cannot be read', async () => {
    installFakeClient(fakeClient({ store: { readStream: () => Promise.reject(new Error('disk on fire')) } }))
    const events = useStreamEventsStore()
    await events.openStream('order-1')
    expect(events.error).toBe('Could not read stream "order-1": disk on fire')
  })

  it('reloads the page when its stream gets new events, and stops listening on close', async () => {
    const readStream = vi.fn().mockResolvedValue(page([1], null))
    const fake = fakeClient({ store: { readStream } })
    installFakeClient(fake)
    const events = useStreamEventsStore()
    await events.openStream('order-1')
    events.open()
    readStream.mockClear()
    fake.emit('store', 'appended', { streamId: 'cart-1', firstPosition: 5, lastPosition: 5, count: 1, types: ['X'] })
    fake.emit('store', 'appended', { streamId: 'order-1', firstPosition: 6, lastPosition: 6, count: 1, types: ['X'] })
    expect(readStream).toHaveBeenCalledTimes(1)
    events.close()
    expect(fake.listenerCount()).toBe(0)
  })

  it('reads the page that starts at an old event a link names, and goes back to the newest page from there', async () => {
    const readStream = vi.fn().mockResolvedValueOnce(page([120, 119], 118)).mockResolvedValueOnce(page([7, 6], 5)).mockResolvedValueOnce(page([120, 119], 118))
    const readEvent = vi.fn(async () => recordedEvent(1007, { version: 7 }))
    installFakeClient(fakeClient({ store: { readStream, readEvent } }))
    const events = useStreamEventsStore()
    await events.openStream('order-1')
    const found = await events.pageAt(1007)
    expect(readEvent).toHaveBeenCalledWith({ position: 1007 })
    expect(found?.version).toBe(7)
    expect(readStream.mock.calls[1][0]).toEqual({ streamId: 'order-1', from: 7, direction: 'backwards', limit: 50 })
    expect(events.events.map((e) => e.version)).toEqual([7, 6])
    await events.previousPage()
    expect(readStream.mock.calls[2][0]).toEqual({ streamId: 'order-1', from: undefined, direction: 'backwards', limit: 50 })
  })

  it('does not move for an event of another stream', async () => {
    const readStream = vi.fn().mockResolvedValue(page([120, 119], 118))
    installFakeClient(fakeClient({ store: { readStream, readEvent: async () => recordedEvent(9, { streamId: 'order-2' }) } }))
    const events = useStreamEventsStore()
    await events.openStream('order-1')
    expect(await events.pageAt(9)).toBeNull()
    expect(readStream).toHaveBeenCalledTimes(1)
  })
})

describe('a stream as read through the upcasters', () => {
  const v1 = (version: number) => recordedEvent(100 + version, { streamId: 'cart-1', version, type: 'ItemAdded', schemaVersion: 1, data: { price: '12.50' } })
  const asRead = (version: number, fields = {}) =>
    recordedEvent(100 + version, { streamId: 'cart-1', version, type: 'ItemAdded', schemaVersion: 2, data: { priceCents: 1250 }, upcastedFrom: { type: 'ItemAdded', schemaVersion: 1 }, ...fields })
  const stored = { streamId: 'cart-1', version: 3, state: 'live' as const, events: [v1(3), v1(2), v1(1)], next: null }

  it('shows the stored events by default and never asks the upcasters', async () => {
    const readAsRead = vi.fn()
    installFakeClient(fakeClient({ store: { readStream: async () => stored }, upcasters: { readStream: readAsRead } }))
    const events = useStreamEventsStore()
    await events.openStream('cart-1')
    expect(events.view).toBe('stored')
    expect(events.events.map((e) => e.schemaVersion)).toEqual([1, 1, 1])
    expect(readAsRead).not.toHaveBeenCalled()
  })

  it('reads the same page through the upcasters, newest first, the parts of a split in their order', async () => {
    const readAsRead = vi.fn(async () => ({
      streamId: 'cart-1',
      version: 3,
      next: null,
      events: [asRead(1), asRead(2, { type: 'A', splitIndex: 0 }), asRead(2, { type: 'B', splitIndex: 1 }), asRead(3)]
    }))
    installFakeClient(fakeClient({ store: { readStream: async () => stored }, upcasters: { readStream: readAsRead } }))
    const events = useStreamEventsStore()
    await events.openStream('cart-1')
    await events.setView('read')
    expect(readAsRead).toHaveBeenCalledWith({ streamId: 'cart-1', from: 1, limit: 3 })
    expect(events.events.map((e) => `${e.version}${e.type === 'ItemAdded' ? '' : e.type}`)).toEqual(['3', '2A', '2B', '1'])
    expect(events.events[0].upcastedFrom).toEqual({ type: 'ItemAdded', schemaVersion: 1 })
    await events.setView('stored')
    expect(events.events.every((e) => e.upcastedFrom === undefined)).toBe(true)
  })

  it('says the upcasters failed, and shows no stored events in their place', async () => {
    const readAsRead = () => Promise.reject(new Error('reading cart-1 through the upcasters: price.split is not a function (upcasters/item-added.ts:5:3)'))
    installFakeClient(fakeClient({ store: { readStream: async () => stored }, upcasters: { readStream: readAsRead } }))
    const events = useStreamEventsStore()
    await events.openStream('cart-1')
    await events.setView('read')
    expect(events.error).toBe('Could not read stream "cart-1" through the upcasters: price.split is not a function (upcasters/item-added.ts:5:3)')
    expect(events.events).toEqual([])
  })
})
