import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { workerScript } from '../../main/jobs/worker-path'
import { branchJob } from '../../main/sagas/branch'
import { SagaClock } from '../../main/sagas/clock'
import { sandboxPrelude } from '../../main/sandbox/prelude'
import { causationGraph } from '../../main/sagas/choreography'
import { SagaCoordinator } from '../../main/sagas/coordinator'
import { demoTemplateFiles } from '../../main/workspace/demo-template'
import { TrustRegistry } from '../../main/workspace/trust'
import { Workspace } from '../../main/workspace/workspace'

let home: string
let ws: Workspace
let sagas: SagaCoordinator
let clock: SagaClock
let orders = 0

const T0 = Date.UTC(2026, 10, 1)

async function open(dir: string) {
  const w = await Workspace.open(dir, { trust: new TrustRegistry(join(home, 'home')), watch: false, createdHere: true })
  // The test drives its own coordinator on a clock it controls.
  await w.sagas.close()
  return w
}

async function coordinator(w: Workspace, send = (c: Parameters<Workspace['commands']['send']>[0]) => w.commands.send(c)) {
  const c = new SagaCoordinator({ store: w.store, runner: w.sandbox, send, clock })
  await c.setSagas(await c.describeFiles(['sagas/order-fulfilment.ts']))
  return c
}

async function placeOrder(options: { country?: string; quantity?: number; totalCents?: number } = {}) {
  const orderId = `o-${++orders}`
  const quantity = options.quantity ?? 2
  const outcome = await ws.commands.send({
    decider: 'orders',
    command: 'PlaceOrder',
    data: { orderId, cartId: `c-${orders}`, customerId: 'ann', country: options.country ?? 'NL', lines: [{ sku: 'beans-kenya-250g', quantity, priceCents: (options.totalCents ?? 2000) / quantity }] }
  })
  expect(outcome.outcome).toBe('accepted')
  await sagas.idle()
  return { orderId, streamId: `saga-order_fulfilment-${orderId}` }
}

const timeline = (streamId: string) => ws.store.readStreamSync(streamId).events.map((e) => (e.data.step ? `${e.type}:${String(e.data.step)}` : e.type))
const types = (streamId: string) => ws.store.readStreamSync(streamId).events.map((e) => e.type)

beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), 'esw-sagas-'))
  clock = SagaClock.manual(T0)
  ws = await open(join(home, 'ws'))
  for (const [file, source] of Object.entries(demoTemplateFiles)) if (file.startsWith('domain/') || file.startsWith('sagas/')) await ws.saveFile(file, source)
  expect(ws.state().problems).toEqual([])
  await ws.commands.send({ decider: 'inventory', command: 'ReceiveStock', data: { sku: 'beans-kenya-250g', quantity: 10, purchaseOrder: 'po-1' } })
  sagas = await coordinator(ws)
}, 60_000)
afterEach(async () => {
  await sagas.close()
  await ws.close()
  rmSync(home, { recursive: true, force: true })
})

describe('the saga coordinator', { timeout: 60_000 }, () => {
  it('runs the happy path, recording each step in the instance stream and sending each command once', async () => {
    const { orderId, streamId } = await placeOrder()
    expect(sagas.instance(streamId).instance).toMatchObject({ status: 'completed', current: null })
    expect(timeline(streamId)).toEqual([
      'SagaStarted',
      'SagaStepSent:reserve-stock',
      'SagaStepCompleted:reserve-stock',
      'SagaStepSent:charge-payment',
      'SagaStepCompleted:charge-payment',
      'SagaStepSent:create-shipment',
      'SagaStepCompleted:create-shipment',
      'SagaCompleted'
    ])
    expect(types(`payment-${orderId}`)).toEqual(['PaymentCharged'])
    expect(types(`shipment-${orderId}`)).toEqual(['ShipmentCreated'])
    // The commands carry the order's correlation id and name the saga event that sent them.
    const charged = ws.store.readStreamSync(`payment-${orderId}`).events[0]
    const placed = ws.store.readStreamSync(`order-${orderId}`).events[0]
    expect(charged.metadata).toMatchObject({ correlationId: placed.metadata!.correlationId })
    const sent = ws.store.readStreamSync(streamId).events.find((e) => e.type === 'SagaStepSent' && e.data.step === 'charge-payment')!
    expect(charged.metadata!.commandCausationId).toBe(sent.id)
  })

  it('compensates the completed steps in reverse order when the last step is rejected', async () => {
    const { orderId, streamId } = await placeOrder({ country: 'US' })
    expect(sagas.instance(streamId).instance).toMatchObject({ status: 'compensated' })
    expect(timeline(streamId).slice(5)).toEqual([
      'SagaStepSent:create-shipment',
      'SagaStepFailed:create-shipment',
      'SagaCompensationSent:charge-payment',
      'SagaStepCompensated:charge-payment',
      'SagaCompensationSent:reserve-stock',
      'SagaStepCompensated:reserve-stock',
      'SagaAborted'
    ])
    expect(sagas.instance(streamId).instance.reason).toContain('UnsupportedDestination')
    expect(types(`payment-${orderId}`)).toEqual(['PaymentCharged', 'PaymentRefunded'])
    expect(types(`inventory-beans-kenya-250g`).slice(-2)).toEqual(['StockReserved', 'StockReleased'])
  })

  it('fails the middle step after its retry and releases the stock; a failing first step has nothing to undo', async () => {
    const { streamId } = await placeOrder({ totalCents: 300_000 })
    // Rejected (above the payment limit), retried once after the backoff on the engine clock, rejected again.
    expect(sagas.instance(streamId).instance).toMatchObject({ status: 'running', current: 'charge-payment' })
    clock.advance(31_000)
    await sagas.idle()
    expect(timeline(streamId).slice(3)).toEqual([
      'SagaStepSent:charge-payment',
      'SagaStepFailed:charge-payment',
      'SagaStepSent:charge-payment',
      'SagaStepFailed:charge-payment',
      'SagaCompensationSent:reserve-stock',
      'SagaStepCompensated:reserve-stock',
      'SagaAborted'
    ])
    const first = await placeOrder({ quantity: 50 })
    expect(timeline(first.streamId)).toEqual(['SagaStarted', 'SagaStepSent:reserve-stock', 'SagaStepFailed:reserve-stock', 'SagaAborted'])
    expect(sagas.instance(first.streamId).instance).toMatchObject({ status: 'compensated', reason: expect.stringContaining('NoNegativeStock') })
  })

  it('times out a step on the controlled clock, then succeeds on the retry', async () => {
    sagas.injectFault({ saga: 'order_fulfilment', step: 'charge-payment', kind: 'timeout' })
    const { orderId, streamId } = await placeOrder()
    expect(sagas.instance(streamId).instance).toMatchObject({ status: 'running', current: 'charge-payment', deadline: T0 + 15 * 60_000 })
    clock.advance(15 * 60_000)
    await sagas.idle()
    expect(timeline(streamId).at(-1)).toBe('SagaStepFailed:charge-payment')
    expect(ws.store.readStreamSync(streamId).events.at(-1)!.data).toMatchObject({ reason: 'timeout', retryAt: T0 + 15 * 60_000 + 30_000 })
    clock.advance(30_000)
    await sagas.idle()
    expect(sagas.instance(streamId).instance).toMatchObject({ status: 'completed', steps: { 'charge-payment': { state: 'completed', attempts: 2 } } })
    expect(types(`payment-${orderId}`)).toEqual(['PaymentCharged'])
  })

  it('parks an instance whose compensation fails, with the reason', async () => {
    sagas.injectFault({ saga: 'order_fulfilment', step: 'create-shipment', kind: 'reject' })
    sagas.injectFault({ saga: 'order_fulfilment', step: 'charge-payment', kind: 'fail-compensation' })
    const { streamId } = await placeOrder()
    expect(sagas.instance(streamId).instance).toMatchObject({ status: 'parked', reason: 'the compensation of charge-payment was rejected: InjectedFault' })
    expect(timeline(streamId).slice(-2)).toEqual(['SagaCompensationSent:charge-payment', 'SagaParked:charge-payment'])
    expect(sagas.instancesList({ status: 'parked' }).instances.map((i) => i.streamId)).toEqual([streamId])
  })

  it('resumes after a restart between sending a command and recording its outcome, without sending it twice', async () => {
    await sagas.close()
    // This coordinator "crashes" right after the charge went through: the outcome is never recorded.
    let crashed!: () => void
    const crash = new Promise<void>((resolve) => (crashed = resolve))
    const crashing = await coordinator(ws, async (c) => {
      const outcome = await ws.commands.send(c)
      if (c.command !== 'ChargePayment') return outcome
      crashed()
      return new Promise<never>(() => {})
    })
    const orderId = `o-${++orders}`
    await ws.commands.send({ decider: 'orders', command: 'PlaceOrder', data: { orderId, cartId: 'c', customerId: 'ann', country: 'NL', lines: [{ sku: 'beans-kenya-250g', quantity: 1, priceCents: 900 }] } })
    await crash
    const streamId = `saga-order_fulfilment-${orderId}`
    // The charge went through, its outcome was never recorded: the instance says the charge was sent.
    expect(timeline(streamId).at(-1)).toBe('SagaStepSent:charge-payment')
    expect(types(`payment-${orderId}`)).toEqual(['PaymentCharged'])
    void crashing.close()
    sagas = await coordinator(ws)
    await sagas.idle()
    expect(sagas.instance(streamId).instance.status).toBe('completed')
    expect(types(`payment-${orderId}`)).toEqual(['PaymentCharged'])
    expect(types(`shipment-${orderId}`)).toEqual(['ShipmentCreated'])
    expect(timeline(streamId).filter((t) => t === 'SagaStepSent:charge-payment')).toHaveLength(1)
  })

  it('flags a step that can neither be undone nor is the point of no return', async () => {
    expect(sagas.problems()).toEqual([])
    await ws.saveFile('sagas/order-fulfilment.ts', demoTemplateFiles['sagas/order-fulfilment.ts'].replace(/compensate: \(\{ start \}\) => \{\n\s+const order = start.data as Placed\n\s+return \{ decider: 'payments'[^\n]*\n\s+\},\n/, ''))
    expect(ws.state().problems).toEqual([
      {
        file: 'sagas/order-fulfilment.ts',
        line: null,
        column: null,
        severity: 'warning',
        message: 'Saga order_fulfilment: step charge-payment has an action but no compensation; if a later step fails it cannot be undone (add compensate, or mark it pointOfNoReturn)'
      }
    ])
  })

  it('skips an event whose correlate throws, says why, and follows the log on', async () => {
    const original = "correlate: (event) => (event.data as { orderId?: string }).orderId,"
    expect(demoTemplateFiles['sagas/order-fulfilment.ts']).toContain(original)
    await ws.saveFile(
      'sagas/order-fulfilment.ts',
      demoTemplateFiles['sagas/order-fulfilment.ts'].replace(
        original,
        "correlate: (event) => {\n    const d = event.data as { orderId?: string; country?: string }\n    if (d.country === 'BE') throw new Error('no fulfilment to BE yet')\n    return d.orderId\n  },"
      )
    )
    await sagas.close()
    sagas = await coordinator(ws)
    const skipped = await placeOrder({ country: 'BE' })
    const { streamId } = await placeOrder({ country: 'NL' })
    expect(sagas.instance(streamId).instance.status).toBe('completed')
    expect(() => sagas.instance(skipped.streamId)).toThrow(/No saga instance/)
    expect(sagas.recentErrors()).toEqual([expect.stringMatching(/^saga order_fulfilment skipped OrderPlaced at position \d+ \(order-o-\d+\): .*no fulfilment to BE yet/)])
  })

  it('draws the causation graph of one correlation id', async () => {
    const { orderId } = await placeOrder()
    const placed = ws.store.readStreamSync(`order-${orderId}`).events[0]
    const graph = causationGraph(ws.store, String(placed.metadata!.correlationId))
    const byId = new Map(graph.nodes.map((n) => [n.id, n.event]))
    const edge = (fromType: string, toType: string) => graph.edges.some((e) => byId.get(e.from)!.type === fromType && byId.get(e.to)!.type === toType)
    expect(edge('OrderPlaced', 'SagaStarted')).toBe(true)
    expect(edge('SagaStepSent', 'StockReserved')).toBe(true)
    expect(edge('SagaStepSent', 'PaymentCharged')).toBe(true)
    expect(edge('SagaStepSent', 'ShipmentCreated')).toBe(true)
    expect(graph.nodes.length).toBe(12)
  })
})

describe('branch and inject', { timeout: 60_000 }, () => {
  it('runs the sagas on a scratch copy of the log and leaves the real log as it was', async () => {
    const { orderId } = await placeOrder()
    const head = ws.store.head()
    const before = exportText()
    const placed = ws.store.readStreamSync(`order-${orderId}`).events[0]
    const report = await branchJob(
      {
        dbFile: ws.store.file,
        prelude: sandboxPrelude(),
        files: ws.definitionSources(),
        position: head,
        clockOffsetMs: 0,
        inject: { kind: 'event', streamId: 'order-branch-1', type: 'OrderPlaced', data: { ...placed.data, orderId: 'branch-1', country: 'US' }, correlationId: 'branch-corr' }
      },
      {}
    )
    try {
      expect(report.position).toBe(head)
      expect(report.changed.map((c) => [c.before, c.after.streamId, c.after.status])).toEqual([[null, 'saga-order_fulfilment-branch-1', 'compensated']])
      expect(report.appended.map((e) => e.type)).toContain('PaymentRefunded')
      expect(report.appended[0]).toMatchObject({ type: 'OrderPlaced', streamId: 'order-branch-1' })
      // The real log: same head, same events, no instance for the injected order.
      expect(ws.store.head()).toBe(head)
      expect(exportText()).toBe(before)
      expect(ws.store.streamVersion('saga-order_fulfilment-branch-1')).toBe(0)
    } finally {
      rmSync(report.dir, { recursive: true, force: true })
    }
  })
})

describe('esw sagas, saga and saga-check', { timeout: 60_000 }, () => {
  it('lists instances by status, prints a timeline, and exits 1 on a definition problem', async () => {
    const done = await placeOrder()
    const failed = await placeOrder({ country: 'US' })
    await sagas.close()
    const cli = workerScript('cli', join(__dirname, '..', '..', 'main', 'cli', 'main.ts'))
    const env = { ...process.env, ESW_HOME: join(home, 'home') }
    const esw = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env })
    const dir = join(home, 'ws')
    const lines = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines(esw(['sagas', dir]).stdout).map((i) => [i.streamId, i.status])).toEqual([
      [done.streamId, 'completed'],
      [failed.streamId, 'compensated']
    ])
    expect(lines(esw(['sagas', dir, '--status', 'compensated']).stdout).map((i) => i.id)).toEqual([failed.orderId])
    expect(esw(['sagas', dir, '--status', 'lost']).status).toBe(2)
    expect(lines(esw(['saga', dir, failed.orderId]).stdout).map((e) => e.type).at(-1)).toBe('SagaAborted')
    const ok = esw(['saga-check', dir])
    expect(ok.status).toBe(0)
    expect(JSON.parse(ok.stdout)).toEqual({ sagas: ['order_fulfilment'], problems: [] })
    writeFileSync(join(dir, 'sagas', 'order-fulfilment.ts'), demoTemplateFiles['sagas/order-fulfilment.ts'].replace('pointOfNoReturn: true', 'pointOfNoReturn: false').replace(/compensate: \(\{ start \}\) => \{\n\s+const order = start.data as Placed\n\s+return \{ decider: 'payments'[^\n]*\n\s+\},\n/, ''))
    const bad = esw(['saga-check', dir])
    expect(bad.status).toBe(1)
    expect(JSON.parse(bad.stdout).problems.map((p: { step: string }) => p.step)).toEqual(['charge-payment'])
    expect(bad.stderr).toContain('step charge-payment has an action but no compensation')
  })
})

function exportText(): string {
  return ws.store
    .readAllSync({ limit: 100_000 })
    .events.map((e) => JSON.stringify(e))
    .join('\n')
}
