import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { SagaFault, SagaInstance } from '../../../shared/contract'
import { armCount, defaultFault, matches, useSagasStore } from './sagas'
import { fakeClient, installFakeClient, recordedEvent, sagaDescriptor, sagaEvent, sagaInstance } from './fake-client'

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.useRealTimers())

const saga = sagaDescriptor()
const start = { orderId: 'o-1', cartId: 'c-1', customerId: 'ann', country: 'NL', lines: [{ sku: 'tea', quantity: 1, priceCents: 450 }], totalCents: 450 }
const timelineOf = (id: string) => [
  sagaEvent(1, 'SagaStarted', { start: { position: 0, streamId: `order-${id}`, type: 'OrderPlaced', data: { ...start, orderId: id } } }, id),
  sagaEvent(2, 'SagaStepSent', { step: 'reserve-stock', attempt: 1, commandIds: ['c-1'], commands: ['inventory.ReserveStock'] }, id)
]

function setup(options: { instances?: SagaInstance[]; send?: ReturnType<typeof vi.fn> } = {}) {
  const known = new Map((options.instances ?? [sagaInstance('o-1')]).map((i) => [i.streamId, i]))
  const armed: SagaFault[] = []
  const sagas = {
    list: vi.fn(async () => ({ sagas: [saga], problems: [] })),
    instances: vi.fn(async (input: { status?: string }) => {
      const all = [...known.values()]
      const counts: Record<string, number> = {}
      for (const i of all) counts[i.status] = (counts[i.status] ?? 0) + 1
      const matching = all.filter((i) => !input.status || i.status === input.status)
      return { instances: matching, total: matching.length, counts }
    }),
    instance: vi.fn(async ({ streamId }: { streamId: string }) => {
      const instance = known.get(streamId)
      if (!instance) throw Object.assign(new Error(`No saga instance ${streamId}`), { code: 'NotFound' })
      return { instance, timeline: timelineOf(instance.id) }
    }),
    injectFault: vi.fn(async (fault: SagaFault) => {
      armed.push(fault)
      return { armed: [...armed] }
    }),
    advanceClock: vi.fn(async ({ ms }: { ms: number }) => ({ now: 1000 + ms, offsetMs: ms }))
  }
  const produced = recordedEvent(3, { streamId: 'inventory-tea', type: 'StockReserved', metadata: { causationId: 'c-1' } })
  const store = { readAll: vi.fn(async () => ({ events: [produced], next: null, headPosition: 3 })) }
  const send = options.send ?? vi.fn(async () => ({ outcome: 'accepted', commandId: 'x', streamId: 'order-x', events: [], repeated: false }))
  const fake = fakeClient({ sagas, store, commands: { send } } as never)
  installFakeClient(fake)
  return { fake, sagas, store, send, known, s: useSagasStore() }
}

describe('the sagas store', () => {
  it('lists the sagas, chooses the first, and reads its instances with their counts', async () => {
    const { s, sagas } = setup({ instances: [sagaInstance('o-1'), sagaInstance('o-2', { status: 'compensated' })] })
    await s.open()
    expect(s.selected).toBe('order_fulfilment')
    expect(s.graph?.nodes.some((n) => n.id === 'step:charge-payment')).toBe(true)
    expect(s.instances.map((i) => i.id)).toEqual(['o-1', 'o-2'])
    expect(s.counts).toEqual({ running: 1, compensated: 1 })
    expect(s.allCount).toBe(2)
    // The first demo fault: the step that has a failure event of its own, rejected.
    expect(s.faults).toEqual([{ step: 'charge-payment', kind: 'reject' }])
    s.filter('compensated')
    await vi.waitFor(() => expect(s.instances.map((i) => i.id)).toEqual(['o-2']))
    expect(sagas.instances).toHaveBeenLastCalledWith({ saga: 'order_fulfilment', status: 'compensated', limit: 200 })
  })

  it('shows an instance with its timeline, each command linked to the events it produced', async () => {
    const { s, store } = setup()
    await s.open()
    await s.selectInstance('saga-order_fulfilment-o-1')
    expect(store.readAll).toHaveBeenCalledWith({ filter: { correlationId: 'corr-o-1' }, from: undefined, limit: 1000 })
    expect(s.entries.map((e) => e.title)).toEqual(['Started by OrderPlaced', 'reserve-stock sent'])
    expect(s.entries[1].commands[0].produced.map((e) => e.type)).toEqual(['StockReserved'])
    expect(s.overlay?.current).toBe('step:reserve-stock')
    await s.selectInstance(null)
    expect(s.overlay).toBeNull()
  })

  it('follows instance changes: the row at once, the selected instance read again, counts once the burst settles', async () => {
    vi.useFakeTimers()
    const { s, fake, sagas, known } = setup()
    await s.open()
    await s.selectInstance('saga-order_fulfilment-o-1')
    const moved = sagaInstance('o-1', { status: 'compensating', current: 'reserve-stock', version: 5 })
    known.set(moved.streamId, moved)
    fake.emit('sagas', 'instance', moved)
    expect(s.instances[0].status).toBe('compensating')
    expect(s.detail?.instance.status).toBe('compensating')
    const calls = sagas.instances.mock.calls.length
    fake.emit('sagas', 'instance', { ...moved, version: 6 })
    await vi.advanceTimersByTimeAsync(300)
    expect(sagas.instances.mock.calls.length).toBe(calls + 1)
    expect(sagas.instance).toHaveBeenCalledTimes(2)
    // An instance of another saga, or one the filter leaves out, is not added.
    fake.emit('sagas', 'instance', sagaInstance('x', { saga: 'other', streamId: 'saga-other-x' }))
    expect(s.instances.map((i) => i.id)).toEqual(['o-1'])
    expect(matches(sagaInstance('o-9', { status: 'parked' }), 'order_fulfilment', 'running')).toBe(false)
  })

  it('starts a demo run: arms the fault once per attempt, places a copied order with fresh ids, and shows its instance when it starts', async () => {
    const { s, fake, sagas, send, known } = setup()
    await s.open()
    expect(await s.startDemoRun()).toBe(true)
    expect(sagas.injectFault).toHaveBeenCalledTimes(2)
    expect(sagas.injectFault).toHaveBeenCalledWith({ saga: 'order_fulfilment', step: 'charge-payment', kind: 'reject' })
    expect(send).toHaveBeenCalledTimes(1)
    const sent = send.mock.calls[0][0] as { decider: string; command: string; data: { orderId: string; customerId: string; lines: unknown[] } }
    expect(sent).toMatchObject({ decider: 'orders', command: 'PlaceOrder', data: { customerId: 'ann', country: 'NL', lines: start.lines } })
    expect(sent.data.orderId).toMatch(/^demo-run-/)
    expect(sent.data.orderId).not.toBe('o-1')
    expect(s.armed).toEqual([])
    const instance = sagaInstance(sent.data.orderId)
    known.set(instance.streamId, instance)
    fake.emit('sagas', 'instance', instance)
    await vi.waitFor(() => expect(s.detail?.instance.id).toBe(sent.data.orderId))
    expect(s.selectedInstance).toBe(instance.streamId)
    expect(s.lastRun?.faults).toEqual([{ step: 'charge-payment', kind: 'reject' }])
  })

  it('says when the order is refused, and keeps the faults armed', async () => {
    const send = vi.fn(async () => ({ outcome: 'rejected', commandId: 'x', streamId: null, rule: 'OutOfStock', message: 'no tea left', repeated: false }))
    const { s } = setup({ send })
    await s.open()
    s.faults = [{ step: 'create-shipment', kind: 'timeout' }]
    expect(await s.startDemoRun()).toBe(false)
    expect(s.runError).toContain('OutOfStock: no tea left')
    expect(s.armed).toEqual([{ saga: 'order_fulfilment', step: 'create-shipment', kind: 'timeout' }])
    expect(s.lastRun).toBeNull()
  })

  it('arms without an order, and moves the engine clock on', async () => {
    const { s, sagas, send } = setup()
    await s.open()
    s.faults = [{ step: 'charge-payment', kind: 'fail-compensation' }]
    expect(await s.startDemoRun(false)).toBe(true)
    expect(sagas.injectFault).toHaveBeenCalledTimes(1)
    expect(send).not.toHaveBeenCalled()
    expect(await s.advanceClock(31_000)).toBe(true)
    expect(s.clock).toEqual({ now: 32_000, offsetMs: 31_000 })
    expect(await s.advanceClock(0)).toBe(false)
    expect(s.clockError).toContain('at least 1')
  })
})

describe('demo faults', () => {
  it('arm a step with retries once per attempt, unless only the first attempt should fail', () => {
    expect(armCount({ step: 'charge-payment', kind: 'reject' }, saga, true)).toBe(2)
    expect(armCount({ step: 'charge-payment', kind: 'timeout' }, saga, false)).toBe(1)
    expect(armCount({ step: 'reserve-stock', kind: 'reject' }, saga, true)).toBe(1)
    expect(armCount({ step: 'charge-payment', kind: 'fail-compensation' }, saga, true)).toBe(1)
    expect(defaultFault(sagaDescriptor({ steps: [] }))).toBeNull()
  })
})
