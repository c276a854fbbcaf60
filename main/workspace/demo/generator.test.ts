import { beforeAll, describe, expect, it } from 'vitest'
import type { RecordedEvent } from '../../../shared/model/events'
import { exportEvents } from '../../store/ndjson'
import { generateDemoLog, type DemoSummary } from './generator'
import { createPlainBus } from './plain-bus'

type Line = Omit<RecordedEvent, 'recordedAt'> & { recordedAt: string; metadata: Record<string, string> }

async function generate(seed: number, targetEvents: number): Promise<{ summary: DemoSummary; ndjson: string; ms: number }> {
  const bus = createPlainBus()
  try {
    const started = performance.now()
    const summary = await generateDemoLog({ send: bus.send, clock: bus.clock, seed, targetEvents })
    const ms = performance.now() - started
    let ndjson = ''
    await exportEvents(bus.store, {}, (chunk) => void (ndjson += chunk))
    return { summary, ndjson, ms }
  } finally {
    await bus.close()
  }
}

describe('the demo log generator', () => {
  let first: Awaited<ReturnType<typeof generate>>
  let events: Line[]
  beforeAll(async () => {
    first = await generate(7, 3000)
    events = first.ndjson.trimEnd().split('\n').map((line) => JSON.parse(line) as Line)
  })

  it('writes the same log, byte for byte, from the same seed', async () => {
    const second = await generate(7, 3000)
    expect(second.ndjson.length).toBe(first.ndjson.length)
    expect(second.ndjson === first.ndjson).toBe(true)
    expect(second.summary).toEqual(first.summary)
  })

  it('writes another log from another seed', async () => {
    const other = await generate(8, 3000)
    expect(other.ndjson === first.ndjson).toBe(false)
  })

  it('writes about the target number of events over 60 simulated days, in time order', () => {
    const { summary } = first
    expect(events.length).toBe(summary.events)
    expect(summary.events).toBeGreaterThan(2700)
    expect(summary.events).toBeLessThan(3300)
    const times = events.map((e) => Date.parse(e.recordedAt))
    expect(times.every((t, i) => i === 0 || t >= times[i - 1])).toBe(true)
    expect(times[0]).toBe(summary.from)
    expect(times[times.length - 1]).toBeLessThanOrEqual(summary.to)
    expect(times[times.length - 1] - times[0]).toBeGreaterThan(55 * 24 * 3_600_000)
  })

  it('includes some refused commands', () => {
    const { summary } = first
    expect(summary.rejected / summary.commands).toBeGreaterThan(0.01)
    expect(summary.rejected / summary.commands).toBeLessThan(0.06)
    expect(Object.values(summary.rejectedByRule).reduce((a, b) => a + b, 0)).toBe(summary.rejected)
    expect(summary.rejectedByRule.NoNegativeStock).toBeGreaterThan(0)
  })

  it('has ItemAdded v1 (price as units) before the carts release and v2 (cents) after it', () => {
    const added = events.filter((e) => e.type === 'ItemAdded')
    const v1 = added.filter((e) => e.schemaVersion === 1)
    const v2 = added.filter((e) => e.schemaVersion === 2)
    expect(v1.length).toBeGreaterThan(0)
    expect(v2.length).toBeGreaterThan(v1.length)
    expect(v1.every((e) => typeof e.data.price === 'string' && Date.parse(e.recordedAt) < first.summary.cartsV2From)).toBe(true)
    expect(v2.every((e) => typeof e.data.priceCents === 'number' && Date.parse(e.recordedAt) >= first.summary.cartsV2From)).toBe(true)
    // Carts left open over the release get v2 items on top of v1 ones.
    const v1Carts = new Set(v1.map((e) => e.streamId))
    expect(v2.some((e) => v1Carts.has(e.streamId))).toBe(true)
  })

  it('prices every checkout in whole cents, before the carts release and after it', () => {
    const checkouts = events.filter((e) => e.type === 'CartCheckedOut')
    const before = checkouts.filter((e) => Date.parse(e.recordedAt) < first.summary.cartsV2From)
    expect(before.length).toBeGreaterThan(0)
    expect(checkouts.length).toBeGreaterThan(before.length)
    for (const e of checkouts) {
      const lines = e.data.lines as Array<{ quantity: number; priceCents: unknown }>
      expect(lines.every((l) => Number.isInteger(l.priceCents) && (l.priceCents as number) > 0)).toBe(true)
      expect(e.data.totalCents).toBe(lines.reduce((sum, l) => sum + l.quantity * (l.priceCents as number), 0))
    }
  })

  it('compensates orders: releases stock, refunds, cancels', () => {
    const types = new Set(events.map((e) => e.type))
    for (const type of ['StockReleased', 'PaymentRefunded', 'OrderCancelled', 'PaymentDeclined']) expect(types, type).toContain(type)
    const { orders } = first.summary
    expect(orders.compensated).toBe(Object.values(orders.compensatedBy).reduce((a, b) => a + b, 0))
    expect(orders.compensated).toBe(events.filter((e) => e.type === 'OrderCancelled').length)
    expect(orders.placed).toBe(orders.completed + orders.compensated + orders.inFlight)
  })

  it('leaves orders in flight, some with stock reserved but no payment', () => {
    const { orders } = first.summary
    expect(orders.inFlightBy.awaitingPayment).toBeGreaterThan(0)
    expect(orders.inFlight).toBe(orders.inFlightBy.awaitingPayment + orders.inFlightBy.awaitingShipment + orders.inFlightBy.awaitingDelivery)
    const ended = new Set(events.filter((e) => ['PaymentCharged', 'OrderCancelled'].includes(e.type)).map((e) => e.data.orderId))
    const waiting = new Set(events.filter((e) => e.type === 'StockReserved' && !ended.has(e.data.orderId)).map((e) => e.data.orderId))
    expect(waiting.size).toBeGreaterThanOrEqual(orders.inFlightBy.awaitingPayment)
  })

  it('gives the commands of one order one correlation id, each caused by the one before', () => {
    const byOrder = new Map<string, Set<string>>()
    for (const e of events) {
      const orderId = e.streamId.match(/^(?:order|payment|shipment)-(.+)$/)?.[1]
      if (orderId) byOrder.set(orderId, (byOrder.get(orderId) ?? new Set()).add(e.metadata.correlationId))
    }
    expect(byOrder.size).toBeGreaterThan(100)
    expect([...byOrder.values()].every((ids) => ids.size === 1)).toBe(true)
    // A flow's first command has no cause; every later one names the command before it.
    const commands = new Set(events.map((e) => e.metadata.commandId))
    const caused = events.filter((e) => e.metadata.causationId !== undefined)
    expect(caused.length).toBeGreaterThan(events.length * 0.8)
    expect(caused.filter((e) => commands.has(e.metadata.causationId)).length).toBeGreaterThan(caused.length * 0.9)
  })
})

// The plain-Node baseline: every command reads its whole stream, no snapshots, no cache. Printed, not asserted.
// Minutes on a busy machine, so opt in: ESW_DEMO_BENCH=1 npx vitest run main/workspace/demo/generator.test.ts
describe.runIf(process.env.ESW_DEMO_BENCH)('the demo log through the plain bus', () => {
  it('takes this long for 100,000 events', { timeout: 30 * 60_000 }, async () => {
    const { summary, ms } = await generate(1, 100_000)
    console.log(`100k demo log through plain-bus: ${(ms / 1000).toFixed(1)} s, ${Math.round(summary.commands / (ms / 1000))} commands/s`)
    console.log(JSON.stringify(summary, null, 2))
  })
})
