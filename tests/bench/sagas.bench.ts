/**
 * Saga benchmark: instances of the demo's order_fulfilment saga (reserve stock → charge payment → create shipment)
 * completed per second through the coordinator, each step's command sent through the command bus and recorded in
 * the instance's saga stream; against the same three commands per order sent straight through the command bus.
 * Both in one workspace with the sandbox worker, as the app runs them.
 * Run: node tests/bench/run.js sagas [--orders 300]
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SagaClock } from '../../main/sagas/clock'
import { SagaCoordinator } from '../../main/sagas/coordinator'
import { TrustRegistry } from '../../main/workspace/trust'
import { Workspace } from '../../main/workspace/workspace'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const ORDERS = arg('--orders', 300)
const root = process.env.ESW_BENCH_ROOT ?? process.cwd()

/** The demo's domain and saga files, as the demo workspace has them. */
function demoFiles(): Array<[string, string]> {
  const template = join(root, 'main', 'workspace', 'demo', 'template')
  return ['domain', 'sagas'].flatMap((kind) => readdirSync(join(template, kind)).map((f) => [`${kind}/${f}`, readFileSync(join(template, kind, f), 'utf8')] as [string, string]))
}

async function main() {
  const home = mkdtempSync(join(tmpdir(), 'esw-bench-sagas-'))
  const ws = await Workspace.open(join(home, 'ws'), { trust: new TrustRegistry(join(home, 'home')), watch: false, createdHere: true })
  try {
    await ws.sagas.close()
    for (const [file, source] of demoFiles()) await ws.saveFile(file, source)
    const skus = ['beans-kenya-250g', 'beans-colombia-250g']
    for (const sku of skus) await ws.commands.send({ decider: 'inventory', command: 'ReceiveStock', data: { sku, quantity: 1_000_000, purchaseOrder: 'po' } })
    const order = (id: string) => ({ orderId: id, cartId: `c-${id}`, customerId: 'ann', country: 'NL', lines: skus.map((sku) => ({ sku, quantity: 1, priceCents: 1000 })) })
    // Warm up the sandbox and the statements.
    for (let i = 0; i < 20; i++) {
      const id = `warm-${i}`
      await ws.commands.send({ decider: 'orders', command: 'PlaceOrder', data: order(id) })
      for (const sku of skus) await ws.commands.send({ decider: 'inventory', command: 'ReserveStock', data: { sku, orderId: id, quantity: 1 } })
    }

    // Plain: the three steps' commands (four commands: two lines to reserve) per order, straight through the bus.
    let commands = 0
    let t = process.hrtime.bigint()
    for (let i = 0; i < ORDERS; i++) {
      const id = `plain-${i}`
      await ws.commands.send({ decider: 'orders', command: 'PlaceOrder', data: order(id) })
      for (const sku of skus) await ws.commands.send({ decider: 'inventory', command: 'ReserveStock', data: { sku, orderId: id, quantity: 1 } })
      await ws.commands.send({ decider: 'payments', command: 'ChargePayment', data: { orderId: id, customerId: 'ann', amountCents: 2000 } })
      await ws.commands.send({ decider: 'shipping', command: 'CreateShipment', data: { orderId: id, country: 'NL', carrier: 'PostNL', trackingNumber: `TRK-${id}` } })
      commands += 5
    }
    const plainSeconds = Number(process.hrtime.bigint() - t) / 1e9
    const perCommandMs = (plainSeconds * 1000) / commands
    const stepCommandsMs = ((plainSeconds * 1000) / ORDERS) * (4 / 5)

    // Through the coordinator: PlaceOrder starts an instance; the saga sends the rest and records every decision.
    const sagas = new SagaCoordinator({ store: ws.store, runner: ws.sandbox, send: (c) => ws.commands.send(c), clock: SagaClock.manual(Date.now()) })
    await sagas.setSagas(await sagas.describeFiles(['sagas/order-fulfilment.ts']))
    t = process.hrtime.bigint()
    for (let i = 0; i < ORDERS; i++) {
      await ws.commands.send({ decider: 'orders', command: 'PlaceOrder', data: order(`saga-${i}`) })
      await sagas.idle()
    }
    const sagaSeconds = Number(process.hrtime.bigint() - t) / 1e9
    const { counts } = sagas.instancesList({ limit: 1 })
    await sagas.close()
    if (counts.completed !== ORDERS) throw new Error(`expected ${ORDERS} completed instances, got ${JSON.stringify(counts)}`)
    const perInstanceMs = (sagaSeconds * 1000) / ORDERS
    const perStepMs = (perInstanceMs - (plainSeconds * 1000) / ORDERS / 5) / 3
    const figures = {
      orders: ORDERS,
      instancesPerSecond: Math.round(ORDERS / sagaSeconds),
      perInstanceMs: Number(perInstanceMs.toFixed(2)),
      plainOrdersPerSecond: Math.round(ORDERS / plainSeconds),
      plainPerCommandMs: Number(perCommandMs.toFixed(3)),
      perStepMs: Number(perStepMs.toFixed(3)),
      stepCostVsCommand: Number((perStepMs / perCommandMs).toFixed(2)),
      overheadVsPlainCommands: Number((perInstanceMs / (stepCommandsMs + perCommandMs)).toFixed(2))
    }
    console.log(`Saga instances (demo order_fulfilment, 3 steps, 4 commands + PlaceOrder), ${ORDERS} orders one after another:`)
    console.log(`  through the coordinator: ${figures.instancesPerSecond} instances/s (${figures.perInstanceMs} ms each, PlaceOrder included)`)
    console.log(`  the same commands straight through the bus: ${figures.plainOrdersPerSecond} orders/s (${figures.plainPerCommandMs} ms per command)`)
    console.log(`  a saga step: ${figures.perStepMs} ms = ${figures.stepCostVsCommand}× a plain command (a step sends its command(s) and records two saga events)`)
    console.log(`  an order through the saga takes ${figures.overheadVsPlainCommands}× the time of its commands sent plainly`)
    const out = join(process.env.ESW_BENCH_ROOT ?? process.cwd(), 'test-results', 'bench')
    mkdirSync(out, { recursive: true })
    writeFileSync(join(out, 'sagas.json'), JSON.stringify(figures, null, 2))
  } finally {
    await ws.close()
    rmSync(home, { recursive: true, force: true })
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
