import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { useAllEventsStore } from './all-events'
import { fakeClient, installFakeClient, recordedEvent } from './fake-client'

beforeEach(() => setActivePinia(createPinia()))

const positions = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => recordedEvent(from + i))
const settle = () => new Promise((r) => setTimeout(r, 0))

describe('the $all live tail', () => {
  it('shows the newest page, newest first', async () => {
    const readAll = vi.fn().mockResolvedValue({ events: positions(8, 10).reverse(), next: 7, headPosition: 10 })
    installFakeClient(fakeClient({ store: { readAll } }))
    const all = useAllEventsStore()
    await all.open()
    expect(readAll).toHaveBeenCalledWith({ direction: 'backwards', limit: 100 })
    expect(all.events.map((e) => e.position)).toEqual([10, 9, 8])
    expect(all.older).toBe(7)
    expect(all.live).toBe(true)
  })

  it('reads what was appended after the head and puts it on top', async () => {
    const readAll = vi
      .fn()
      .mockResolvedValueOnce({ events: positions(1, 2).reverse(), next: null, headPosition: 2 })
      .mockResolvedValueOnce({ events: positions(3, 4), next: null, headPosition: 4 })
    const fake = fakeClient({ store: { readAll } })
    installFakeClient(fake)
    const all = useAllEventsStore()
    await all.open()
    fake.emit('store', 'appended', { streamId: 'order-1', firstPosition: 3, lastPosition: 4, count: 2, types: ['OrderPlaced'] })
    await settle()
    expect(readAll).toHaveBeenLastCalledWith({ from: 3, direction: 'forwards', limit: 100 })
    expect(all.events.map((e) => e.position)).toEqual([4, 3, 2, 1])
    expect(all.head).toBe(4)
  })

  it('catches up on appends announced while the first page was loading', async () => {
    let release: (v: unknown) => void = () => {}
    const readAll = vi
      .fn()
      .mockImplementationOnce(() => new Promise((r) => (release = r)))
      .mockResolvedValueOnce({ events: positions(3, 3), next: null, headPosition: 3 })
    const fake = fakeClient({ store: { readAll } })
    installFakeClient(fake)
    const all = useAllEventsStore()
    const opening = all.open()
    fake.emit('store', 'appended', { streamId: 'order-1', firstPosition: 3, lastPosition: 3, count: 1, types: ['X'] })
    release({ events: positions(1, 2).reverse(), next: null, headPosition: 2 })
    await opening
    await settle()
    expect(all.events.map((e) => e.position)).toEqual([3, 2, 1])
  })

  it('jumps to the newest page when more arrived than a page holds', async () => {
    const readAll = vi
      .fn()
      .mockResolvedValueOnce({ events: positions(1, 1), next: null, headPosition: 1 })
      .mockResolvedValueOnce({ events: positions(401, 500).reverse(), next: 400, headPosition: 500 })
    const fake = fakeClient({ store: { readAll } })
    installFakeClient(fake)
    const all = useAllEventsStore()
    await all.open()
    fake.emit('store', 'appended', { streamId: 'bulk-1', firstPosition: 2, lastPosition: 500, count: 499, types: ['X'] })
    await settle()
    expect(readAll).toHaveBeenLastCalledWith({ direction: 'backwards', limit: 100 })
    expect(all.events[0].position).toBe(500)
    expect(all.older).toBe(400)
  })

  it('loads older pages below the ones shown', async () => {
    const readAll = vi
      .fn()
      .mockResolvedValueOnce({ events: positions(3, 4).reverse(), next: 2, headPosition: 4 })
      .mockResolvedValueOnce({ events: positions(1, 2).reverse(), next: null, headPosition: 4 })
    installFakeClient(fakeClient({ store: { readAll } }))
    const all = useAllEventsStore()
    await all.open()
    await all.loadOlder()
    expect(readAll).toHaveBeenLastCalledWith({ from: 2, direction: 'backwards', limit: 100 })
    expect(all.events.map((e) => e.position)).toEqual([4, 3, 2, 1])
    expect(all.older).toBeNull()
  })

  it('does not spin when announced events cannot be read', async () => {
    const readAll = vi
      .fn()
      .mockResolvedValueOnce({ events: positions(1, 1), next: null, headPosition: 1 })
      .mockResolvedValue({ events: [], next: null, headPosition: 1 })
    const fake = fakeClient({ store: { readAll } })
    installFakeClient(fake)
    const all = useAllEventsStore()
    await all.open()
    fake.emit('store', 'appended', { streamId: 'x-1', firstPosition: 2, lastPosition: 2, count: 1, types: ['X'] })
    await settle()
    await settle()
    expect(readAll).toHaveBeenCalledTimes(2)
  })

  it('unsubscribes on close', async () => {
    const fake = fakeClient({ store: { readAll: vi.fn().mockResolvedValue({ events: [], next: null, headPosition: 0 }) } })
    installFakeClient(fake)
    const all = useAllEventsStore()
    await all.open()
    expect(fake.listenerCount()).toBe(1)
    all.close()
    expect(fake.listenerCount()).toBe(0)
    expect(all.live).toBe(false)
  })
})
