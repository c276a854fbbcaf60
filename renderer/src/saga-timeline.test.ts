import { describe, expect, it } from 'vitest'
import { clockAdvanceFor, demoOrder, eventsByCommand, timelineEntries } from './saga-timeline'
import { recordedEvent, sagaEvent, sagaInstance } from './stores/fake-client'

const T = Date.UTC(2025, 0, 1)

describe('an instance’s timeline', () => {
  const charged = recordedEvent(6, { streamId: 'payment-o-1', type: 'PaymentCharged', metadata: { causationId: 'c-2', commandId: 'c-2', correlationId: 'corr-o-1' } })
  const reserved = recordedEvent(3, { streamId: 'inventory-tea', type: 'StockReserved', metadata: { causationId: 'c-1', correlationId: 'corr-o-1' } })

  it('finds the events each command produced by the command id they carry', () => {
    const byCommand = eventsByCommand([reserved, charged, recordedEvent(9, { metadata: null })])
    expect(byCommand.get('c-1')).toEqual([reserved])
    expect(byCommand.get('c-2')).toEqual([charged])
    expect(byCommand.size).toBe(2)
  })

  it('says what each saga event means, with the commands sent and what they produced', () => {
    const entries = timelineEntries(
      [
        sagaEvent(1, 'SagaStarted', { correlationId: 'corr-o-1', start: { position: 0, streamId: 'order-o-1', type: 'OrderPlaced' } }),
        sagaEvent(2, 'SagaStepSent', { step: 'reserve-stock', attempt: 1, commandIds: ['c-1'], commands: ['inventory.ReserveStock'], deadline: T + 2000 + 300_000 }),
        sagaEvent(4, 'SagaStepCompleted', { step: 'reserve-stock', by: { position: 3, streamId: 'inventory-tea', type: 'StockReserved' } }),
        sagaEvent(5, 'SagaStepSent', { step: 'charge-payment', attempt: 2, commandIds: ['c-2', 'c-3'], commands: ['payments.ChargePayment', 'payments.Hold'] }),
        sagaEvent(7, 'SagaStepFailed', { step: 'charge-payment', attempt: 2, reason: 'timeout', message: 'no answer within 900 s', retryAt: null }),
        sagaEvent(8, 'SagaParked', { step: 'reserve-stock', reason: 'the compensation of reserve-stock was rejected' })
      ],
      eventsByCommand([reserved, charged])
    )
    expect(entries.map((e) => e.kind)).toEqual(['started', 'sent', 'completed', 'sent', 'failed', 'parked'])
    expect(entries[0]).toMatchObject({ title: 'Started by OrderPlaced', ref: { position: 0, streamId: 'order-o-1', type: 'OrderPlaced' } })
    expect(entries[1]).toMatchObject({ title: 'reserve-stock sent', detail: 'answer due within 5 min' })
    expect(entries[1].commands).toEqual([{ commandId: 'c-1', name: 'inventory.ReserveStock', produced: [reserved] }])
    expect(entries[2]).toMatchObject({ title: 'reserve-stock completed by StockReserved', ref: { position: 3 } })
    expect(entries[3].title).toBe('charge-payment sent (attempt 2)')
    expect(entries[3].commands.map((c) => [c.name, c.produced.length])).toEqual([
      ['payments.ChargePayment', 1],
      ['payments.Hold', 0]
    ])
    expect(entries[4]).toMatchObject({ title: 'charge-payment timed out (attempt 2)', detail: 'no answer within 900 s · no retry left: compensating' })
    expect(entries[5]).toMatchObject({ title: 'Parked at reserve-stock: needs a person', detail: 'the compensation of reserve-stock was rejected' })
    expect(entries[5].at).toBe(T + 8000)
  })
})

describe('moving the engine clock past what an instance waits for', () => {
  it('passes a step’s deadline, counted from when the saga set it', () => {
    const timeline = [sagaEvent(2, 'SagaStepSent', { step: 'charge-payment', deadline: T + 2000 + 900_000 })]
    expect(clockAdvanceFor(sagaInstance('o-1', { current: 'charge-payment', deadline: T + 2000 + 900_000 }), timeline)).toEqual({ ms: 901_000, waitingFor: 'deadline', step: 'charge-payment' })
  })

  it('passes a retry’s backoff, and offers nothing for an instance that waits for nothing', () => {
    const timeline = [sagaEvent(3, 'SagaStepFailed', { step: 'charge-payment', retryAt: T + 3000 + 30_000 })]
    expect(clockAdvanceFor(sagaInstance('o-1', { current: 'charge-payment', deadline: T + 3000 + 30_000 }), timeline)).toMatchObject({ ms: 31_000, waitingFor: 'retry' })
    expect(clockAdvanceFor(sagaInstance('o-1', { deadline: null }), timeline)).toBeNull()
    expect(clockAdvanceFor(sagaInstance('o-1', { status: 'parked', deadline: T }), timeline)).toBeNull()
  })
})

describe('a new demo order', () => {
  it('copies customer, country and lines from an earlier order, with fresh ids', () => {
    const start = { orderId: 'o-1', cartId: 'cart-1', customerId: 'ann', country: 'NL', lines: [{ sku: 'tea', quantity: 2, priceCents: 450, note: 'x' }], totalCents: 900 }
    expect(demoOrder(start, 'k1')).toEqual({ orderId: 'demo-run-k1', cartId: 'cart-demo-run-k1', customerId: 'ann', country: 'NL', lines: [{ sku: 'tea', quantity: 2, priceCents: 450 }] })
    expect(demoOrder({ ...start, lines: [] }, 'k1')).toBeNull()
    expect(demoOrder({ lines: start.lines }, 'k1')).toBeNull()
  })
})
