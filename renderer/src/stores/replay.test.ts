import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { BlameEntry, ReplayStep } from '../../../shared/contract'
import { fakeClient, installFakeClient, recordedEvent } from './fake-client'
import { replayPointOf, SETTLE_DELAY_MS, STEP_WINDOW, useReplayStore } from './replay'

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.useRealTimers())

/** An order stream of `length` events: the state after version v is `{ count: v }`. */
function orderStream(length: number, streamId = 'order-1') {
  const step = (v: number): ReplayStep => ({
    event: recordedEvent(100 + v, { streamId, version: v, type: v === 1 ? 'OrderPlaced' : 'ItemAdded' }),
    before: { count: v - 1 },
    after: { count: v },
    changes: [{ kind: v === 1 ? 'added' : 'changed', path: ['count'], before: v === 1 ? undefined : v - 1, after: v }]
  })
  const steps = vi.fn(async (input: { fromVersion: number; limit: number; decider?: string }) => {
    const last = Math.min(input.fromVersion + input.limit - 1, length)
    const window = Array.from({ length: Math.max(last - input.fromVersion + 1, 0) }, (_, i) => step(input.fromVersion + i))
    return { decider: input.decider ?? 'orders', steps: window, streamVersion: length, next: last < length ? last + 1 : null }
  })
  const stateAt = vi.fn(async (input: { at: { version?: number; position?: number; time?: string } }) => {
    const v = input.at.version ?? (input.at.position !== undefined ? input.at.position - 100 : 2)
    return {
      streamId,
      decider: 'orders',
      state: { count: v },
      version: v,
      event: v === 0 ? null : { position: 100 + v, version: v, type: 'ItemAdded', id: `e-${v}`, recordedAt: 0 },
      snapshotVersion: v >= 100 ? 100 : null,
      eventsFolded: v >= 100 ? v - 100 : v,
      streamVersion: length
    }
  })
  const blame = vi.fn(async (input: { at: { version: number } }) => ({
    decider: 'orders',
    version: input.at.version,
    fields: [{ path: ['count'], value: input.at.version, event: { position: 100 + input.at.version, version: input.at.version, type: 'ItemAdded', id: 'x', recordedAt: 0 } }] as BlameEntry[]
  }))
  const deciderFor = vi.fn(async () => ({
    decider: 'orders',
    candidates: [
      { name: 'orders', streamPrefix: 'order' },
      { name: 'orders-v2', streamPrefix: 'order' }
    ]
  }))
  const fake = fakeClient({ replay: { steps, stateAt, blame, deciderFor } as never })
  installFakeClient(fake)
  return { steps, stateAt, blame, deciderFor, fake }
}

describe('replaying a stream', () => {
  it('opens a stream at its last version with the decider the engine picks', async () => {
    const { steps, deciderFor } = orderStream(3)
    const replay = useReplayStore()
    await replay.openStream('order-1')
    expect(deciderFor).toHaveBeenCalledWith({ streamId: 'order-1' })
    expect(steps).toHaveBeenCalledWith({ streamId: 'order-1', decider: 'orders', fromVersion: 1, limit: STEP_WINDOW })
    expect(replay.decider).toBe('orders')
    expect(replay.candidates.map((c) => c.name)).toEqual(['orders', 'orders-v2'])
    expect(replay.streamVersion).toBe(3)
    expect(replay.version).toBe(3)
    expect(replay.state).toEqual({ count: 3 })
  })

  it('opens at the version a link names', async () => {
    orderStream(5)
    const replay = useReplayStore()
    await replay.openStream('order-1', 2)
    expect(replay.version).toBe(2)
    expect(replay.currentEvent?.version).toBe(2)
  })

  it('scrubs to a version: the state, the event and its changes show at once, within the stream', async () => {
    orderStream(5)
    const replay = useReplayStore()
    await replay.openStream('order-1')
    await replay.scrubTo(2)
    expect(replay.state).toEqual({ count: 2 })
    expect(replay.currentEvent).toMatchObject({ version: 2, type: 'ItemAdded', position: 102 })
    expect(replay.changes).toEqual([{ kind: 'changed', path: ['count'], before: 1, after: 2 }])
    await replay.scrubTo(99)
    expect(replay.version).toBe(5)
    await replay.scrubTo(-3)
    expect(replay.version).toBe(0)
    // Before the first event: the state the first step started from, and nothing changed.
    expect(replay.state).toEqual({ count: 0 })
    expect(replay.currentEvent).toBeNull()
    expect(replay.changes).toEqual([])
  })

  it('steps forward and back one event at a time', async () => {
    orderStream(3)
    const replay = useReplayStore()
    await replay.openStream('order-1', 1)
    await replay.step(1)
    expect(replay.version).toBe(2)
    await replay.step(-1)
    await replay.step(-1)
    await replay.step(-1)
    expect(replay.version).toBe(0)
  })

  it('asks for the state and the blame once the scrubber settles, and remembers them per version', async () => {
    vi.useFakeTimers()
    const { stateAt, blame } = orderStream(150)
    const replay = useReplayStore()
    await replay.openStream('order-1')
    await replay.scrubTo(120)
    await replay.scrubTo(121)
    await replay.scrubTo(122)
    await vi.advanceTimersByTimeAsync(SETTLE_DELAY_MS)
    // Only the version the scrubber stopped at was asked for.
    expect(stateAt.mock.calls.map((c) => c[0].at)).toEqual([{ version: 122 }])
    expect(blame.mock.calls.map((c) => c[0].at)).toEqual([{ version: 122 }])
    expect(replay.point).toMatchObject({ version: 122, snapshotVersion: 100, eventsFolded: 22 })
    expect(replay.blameAt(['count'])).toMatchObject({ version: 122, type: 'ItemAdded' })

    await replay.scrubTo(1)
    await vi.advanceTimersByTimeAsync(SETTLE_DELAY_MS)
    await replay.scrubTo(122)
    await vi.advanceTimersByTimeAsync(SETTLE_DELAY_MS)
    expect(stateAt).toHaveBeenCalledTimes(2)
    expect(blame).toHaveBeenCalledTimes(2)
    expect(replay.point?.version).toBe(122)
  })

  it('reads steps in windows of 200 and the window of a far version when scrubbed there', async () => {
    const { steps } = orderStream(450)
    const replay = useReplayStore()
    await replay.openStream('order-1', 3)
    expect(replay.timeline).toMatchObject({ from: 1, next: 201 })
    expect(replay.timeline?.steps).toHaveLength(200)
    await replay.scrubTo(430)
    expect(steps.mock.calls.map((c) => c[0].fromVersion)).toEqual([1, 401])
    expect(replay.timeline).toMatchObject({ from: 401, next: null })
    expect(replay.state).toEqual({ count: 430 })
    // The version right at a window's edge belongs to the next window.
    await replay.scrubTo(201)
    expect(steps.mock.calls.map((c) => c[0].fromVersion)).toEqual([1, 401, 201])
    expect(replay.timeline?.from).toBe(201)
    // Windows once read are not read again.
    await replay.scrubTo(5)
    await replay.scrubTo(450)
    expect(steps).toHaveBeenCalledTimes(3)
  })

  it('opens a far version by reading only the window that holds it', async () => {
    const { steps } = orderStream(450)
    const replay = useReplayStore()
    await replay.openStream('order-1', 300)
    expect(steps.mock.calls.map((c) => c[0].fromVersion)).toEqual([201])
    expect(replay.state).toEqual({ count: 300 })
  })

  it('jumps to a version, a global position or a time where the engine says it stopped', async () => {
    const { stateAt } = orderStream(10)
    const replay = useReplayStore()
    await replay.openStream('order-1')
    replay.jumpKind = 'position'
    replay.jumpText = '104'
    await replay.jump()
    expect(stateAt).toHaveBeenLastCalledWith({ streamId: 'order-1', decider: 'orders', at: { position: 104 } })
    expect(replay.version).toBe(4)
    expect(replay.jumped).toMatchObject({ version: 4, event: { type: 'ItemAdded' } })

    replay.jumpKind = 'time'
    replay.jumpText = '2025-01-01 00:00:05Z'
    await replay.jump()
    expect(stateAt).toHaveBeenLastCalledWith(expect.objectContaining({ at: { time: '2025-01-01T00:00:05.000Z' } }))
    expect(replay.version).toBe(2)
  })

  it('refuses a jump it cannot read, without asking the engine', async () => {
    const { stateAt } = orderStream(3)
    const replay = useReplayStore()
    await replay.openStream('order-1')
    replay.jumpKind = 'version'
    replay.jumpText = 'three'
    await replay.jump()
    expect(replay.jumpError).toBe('Enter a version as a whole number (0 or more)')
    expect(stateAt).not.toHaveBeenCalled()
    expect(replay.version).toBe(3)
  })

  it('jumps to the event that set a field', async () => {
    vi.useFakeTimers()
    const { blame } = orderStream(6)
    blame.mockResolvedValueOnce({
      decider: 'orders',
      version: 6,
      fields: [
        { path: ['status'], value: 'paid', event: { position: 103, version: 3, type: 'OrderPaid', id: 'p', recordedAt: 0 } },
        { path: ['lines', 0, 'sku'], value: 'tea', event: { position: 101, version: 1, type: 'OrderPlaced', id: 'o', recordedAt: 0 } },
        { path: ['currency'], value: 'EUR', event: null }
      ]
    })
    const replay = useReplayStore()
    await replay.openStream('order-1')
    await vi.advanceTimersByTimeAsync(SETTLE_DELAY_MS)
    expect(replay.blameAt(['status'])?.type).toBe('OrderPaid')
    expect(replay.blameAt(['lines'])?.version).toBe(1)
    expect(replay.blameAt(['currency'])).toBeNull()
    await replay.jumpToBlame(['status'])
    expect(replay.version).toBe(3)
    // The blame of version 6 does not describe version 3: not known until version 3's arrives.
    expect(replay.blameAt(['status'])).toBeUndefined()
    await vi.advanceTimersByTimeAsync(SETTLE_DELAY_MS)
    expect(replay.blameAt(['count'])?.version).toBe(3)
  })

  it('replays with another decider when one is chosen', async () => {
    const { steps } = orderStream(4)
    const replay = useReplayStore()
    await replay.openStream('order-1', 2)
    await replay.chooseDecider('orders-v2')
    expect(steps).toHaveBeenLastCalledWith(expect.objectContaining({ decider: 'orders-v2', fromVersion: 1 }))
    expect(replay.decider).toBe('orders-v2')
    expect(replay.version).toBe(2)
    await replay.chooseDecider(null)
    expect(replay.decider).toBe('orders')
  })

  it('drops the steps of a stream that was left before they came', async () => {
    const { steps } = orderStream(3)
    let release: () => void = () => {}
    steps.mockImplementationOnce(
      () =>
        new Promise((resolve) => {
          release = () => resolve({ decider: 'orders', steps: [], streamVersion: 99, next: null })
        })
    )
    const replay = useReplayStore()
    const first = replay.openStream('order-9')
    await vi.waitFor(() => expect(steps).toHaveBeenCalledTimes(1))
    await replay.openStream('order-1')
    release()
    await first
    expect(replay.streamId).toBe('order-1')
    expect(replay.streamVersion).toBe(3)
  })

  it('says which stream could not be replayed', async () => {
    installFakeClient(
      fakeClient({
        replay: {
          deciderFor: async () => ({ decider: null, candidates: [] }),
          steps: () => Promise.reject(new Error('No decider replays category "misc"'))
        } as never
      })
    )
    const replay = useReplayStore()
    await replay.openStream('misc-1')
    expect(replay.error).toBe('Could not replay "misc-1": No decider replays category "misc"')
    expect(replay.loading).toBe(false)
  })

  it('reads the last window again when its stream gets new events, and stops listening on close', async () => {
    const { steps, fake } = orderStream(3)
    const replay = useReplayStore()
    await replay.openStream('order-1')
    replay.open()
    steps.mockClear()
    fake.emit('store', 'appended', { streamId: 'order-2', firstPosition: 9, lastPosition: 9, count: 1, types: ['X'] })
    fake.emit('store', 'appended', { streamId: 'order-1', firstPosition: 9, lastPosition: 9, count: 1, types: ['X'] })
    expect(steps).toHaveBeenCalledTimes(1)
    expect(steps.mock.calls[0][0]).toMatchObject({ fromVersion: 1 })
    replay.close()
    expect(fake.listenerCount()).toBe(0)
  })
})

describe('reading a jump target', () => {
  it('reads versions and positions as whole numbers and times as ISO 8601', () => {
    expect(replayPointOf('version', ' 7 ')).toEqual({ ok: true, at: { version: 7 } })
    expect(replayPointOf('position', '0')).toEqual({ ok: true, at: { position: 0 } })
    expect(replayPointOf('time', '2025-03-01T14:02:09+01:00')).toEqual({ ok: true, at: { time: '2025-03-01T13:02:09.000Z' } })
    expect(replayPointOf('position', '-1')).toMatchObject({ ok: false })
    expect(replayPointOf('time', 'yesterday')).toMatchObject({ ok: false, error: expect.stringContaining('ISO 8601') })
  })
})
