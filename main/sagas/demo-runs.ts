import type { CommandOutcome } from '../../shared/contract/commands'
import type { SagaFault } from '../../shared/contract/sagas'
import type { SendCommand } from '../cqrs/command-bus'
import type { CodeRunner } from '../cqrs/runner'
import type { SqliteEventStore } from '../store/sqlite-store'
import { SagaClock } from './clock'
import { SagaCoordinator } from './coordinator'

type Placed = { orderId: string; customerId: string; country: string; lines: Array<{ sku: string; quantity: number; priceCents: number }> }

/**
 * The last part of the demo shop's history: orders fulfilled by the order_fulfilment saga rather than by the
 * generator, so the log holds completed instances, compensated ones (a payment refused, a parcel no carrier
 * answered for) and parked ones (a refund that failed). Runs in the seed job, on the job's clock.
 */
export async function runDemoSagas(options: {
  store: SqliteEventStore
  runner: CodeRunner
  send: (command: SendCommand) => Promise<CommandOutcome>
  /** The generator's clock: read for the current time, set to move it on. */
  now: () => number
  setNow: (ms: number) => void
  files: string[]
  orders?: number
}): Promise<{ instances: number; byStatus: Record<string, number> }> {
  const { store, runner } = options
  const clock = new SagaClock(options.now)
  const send = (c: SendCommand) => options.send({ ...c, now: options.now() })
  const coordinator = new SagaCoordinator({ store, runner, send, clock, tickMs: 60_000 })
  try {
    coordinator.setCheckpoint(store.head())
    const sagas = await coordinator.describeFiles(options.files)
    if (!sagas.some((s) => s.name === 'order_fulfilment')) return { instances: 0, byStatus: {} }
    await coordinator.setSagas(sagas)
    // Orders like the shop's latest ones, placed again under new ids.
    const templates = store
      .readAllSync({ from: store.head(), direction: 'backwards', limit: 40, filter: { types: ['OrderPlaced'] } })
      .events.map((e) => e.data as Placed)
    if (!templates.length) return { instances: 0, byStatus: {} }
    const skus = [...new Set(templates.flatMap((t) => t.lines.map((l) => l.sku)))]
    for (const sku of skus) await send({ decider: 'inventory', command: 'ReceiveStock', data: { sku, quantity: 200, purchaseOrder: `po-saga-${sku}` } })
    const faults: Array<Array<Omit<SagaFault, 'saga'>>> = [
      [],
      [],
      [{ step: 'charge-payment', kind: 'reject' }],
      [],
      [{ step: 'create-shipment', kind: 'timeout' }],
      [],
      [{ step: 'create-shipment', kind: 'reject' }, { step: 'charge-payment', kind: 'fail-compensation' }],
      [{ step: 'charge-payment', kind: 'timeout' }]
    ]
    const count = options.orders ?? 24
    for (let i = 0; i < count; i++) {
      const t = templates[i % templates.length]
      for (const f of faults[i % faults.length]) coordinator.injectFault({ saga: 'order_fulfilment', ...f })
      options.setNow(options.now() + 7 * 60_000)
      const orderId = `saga-demo-${String(i + 1).padStart(3, '0')}`
      await send({ decider: 'orders', command: 'PlaceOrder', data: { orderId, cartId: `cart-${orderId}`, customerId: t.customerId, country: t.country, lines: t.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, priceCents: l.priceCents })) } })
      await coordinator.idle()
      // Let deadlines and retries come due on the job's clock.
      for (let k = 0; k < 4; k++) {
        const waiting = coordinator.instancesList({ status: 'running', limit: 10 }).instances.filter((x) => x.deadline !== null)
        if (!waiting.length) break
        options.setNow(Math.max(options.now(), ...waiting.map((x) => x.deadline! + 1)))
        clock.advance(0)
        await coordinator.idle()
      }
    }
    const { total, counts } = coordinator.instancesList({ limit: 1 })
    return { instances: total, byStatus: counts }
  } finally {
    await coordinator.close()
  }
}
