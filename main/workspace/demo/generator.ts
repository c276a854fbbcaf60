import { createAgenda } from './agenda'
import { carrierFor, countries, products, type Product } from './catalogue'
import { uuidFromName } from './ids'
import { seededRandom, type Random } from './random'

/**
 * The demo log: ~60 days of a small online shop, written by sending commands to the demo deciders. Shoppers fill
 * carts and check out; each order runs reserve stock → charge → ship → deliver, and is compensated (release,
 * refund, cancel) when a step is refused. Everything random comes from one seed, so every run writes the same log.
 */

export interface CommandMetadata {
  commandId: string
  correlationId: string
  /** The command this one follows from, in the same order flow. */
  causationId?: string
}

export type SendOutcome = { ok: true; events: number } | { ok: false; rejected: { rule: string; message: string } }

/**
 * Sends one command to a decider (validate, load its stream, decide, append) and reports what happened. A rule
 * violation is an outcome; anything else (invalid data, a store failure) is a bug here and should throw.
 * `deciderOverride: 'carts.v1'` runs the old carts decider (history/carts.v1.ts) in place of the current one.
 */
export type SendCommand = (
  decider: string,
  command: string,
  data: Record<string, unknown>,
  metadata: CommandMetadata,
  options?: { deciderOverride?: 'carts.v1' }
) => Promise<SendOutcome>

/** The simulated time: the store records the events of the next command at this time. */
export interface DemoClock {
  set(ms: number): void
  /** The time last set; the generator never reads it, the store's `now` option may. */
  now?: () => number
}

export interface DemoOptions {
  send: SendCommand
  clock: DemoClock
  seed?: number
  /** About how many events to write (default 100,000); the timeline is always `days` long. */
  targetEvents?: number
  /** Length of the simulated timeline (default 60). */
  days?: number
  /** Start of the simulated timeline, UTC ms (default Monday 17 February 2025, 00:00). */
  startAt?: number
  onProgress?: (events: number, target: number) => void
  isCancelled?: () => boolean
}

export type CancelReason = 'out-of-stock' | 'payment-refused' | 'payment-declined' | 'undeliverable' | 'customer-request'

export interface DemoSummary {
  seed: number
  /** The simulated timeline, UTC ms: its start, and the time of its last command. */
  from: number
  to: number
  /** When the carts v2 decider replaced v1. */
  cartsV2From: number
  commands: number
  events: number
  rejected: number
  rejectedByRule: Record<string, number>
  carts: { opened: number; checkedOut: number; abandoned: number }
  orders: {
    placed: number
    /** Delivered. */
    completed: number
    /** Cancelled, with stock released and payment refunded as far as they had got. */
    compensated: number
    compensatedBy: Record<CancelReason, number>
    inFlight: number
    inFlightBy: { awaitingPayment: number; awaitingShipment: number; awaitingDelivery: number }
  }
  /** isCancelled stopped the run; the log holds what was written until then. */
  cancelled: boolean
}

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const DEFAULT_START = Date.UTC(2025, 1, 17)

/** A journey is one actor's story; it yields how long to wait (ms) before its next step. */
type Journey = AsyncGenerator<number, void, undefined>

/** The commands of one flow share a correlation id; each is caused by the one before. */
interface Flow {
  correlationId: string
  causationId?: string
}

interface Line {
  sku: string
  quantity: number
  priceCents: number
}

interface Customer {
  id: string
  country: string
}

type OrderStage = 'awaitingPayment' | 'awaitingShipment' | 'awaitingDelivery'

interface StockPlan {
  /** Units not yet promised to an order, as the warehouse sees it. */
  available: number
  onOrder: boolean
  reorderPoint: number
  reorderQuantity: number
}

interface World {
  readonly random: Random
  readonly start: number
  readonly end: number
  now: number
  readonly stock: Map<string, StockPlan>
  readonly orders: Map<string, OrderStage>
  readonly summary: DemoSummary
  spawn(at: number, journey: Journey): void
  newFlow(): Flow
  nextNumber(kind: 'cart' | 'order' | 'purchaseOrder' | 'customer'): number
  customer(): Customer
  command(flow: Flow, decider: string, name: string, data: Record<string, unknown>): Promise<SendOutcome>
}

export async function generateDemoLog(options: DemoOptions): Promise<DemoSummary> {
  const { send, clock, seed = 1, targetEvents = 100_000, days = 60, startAt = DEFAULT_START } = options
  const random = seededRandom(seed)
  const agenda = createAgenda<Journey>()
  const start = startAt
  const end = start + days * DAY
  // The carts release: from here on ItemAdded carries priceCents (schema version 2).
  const cartsV2From = start + Math.round(days * 0.25) * DAY + 6 * HOUR
  const counters = { cart: 0, order: 1000, purchaseOrder: 0, customer: 0, id: 0 }
  const customers: Customer[] = []
  const summary: DemoSummary = {
    seed,
    from: start,
    to: end,
    cartsV2From,
    commands: 0,
    events: 0,
    rejected: 0,
    rejectedByRule: {},
    carts: { opened: 0, checkedOut: 0, abandoned: 0 },
    orders: {
      placed: 0,
      completed: 0,
      compensated: 0,
      compensatedBy: { 'out-of-stock': 0, 'payment-refused': 0, 'payment-declined': 0, undeliverable: 0, 'customer-request': 0 },
      inFlight: 0,
      inFlightBy: { awaitingPayment: 0, awaitingShipment: 0, awaitingDelivery: 0 }
    },
    cancelled: false
  }
  let progressAt = 1000

  const world: World = {
    random,
    start,
    end,
    now: start,
    stock: planStock(targetEvents, days),
    orders: new Map(),
    summary,
    spawn: (at, journey) => agenda.add(at, journey),
    newFlow: () => ({ correlationId: uuidFromName(`demo/${seed}/${counters.id++}`) }),
    nextNumber: (kind) => ++counters[kind],
    customer() {
      if (customers.length > 20 && random.chance(0.4)) return random.pick(customers)
      const customer = { id: `cust-${String(++counters.customer).padStart(5, '0')}`, country: random.weighted(countries, (c) => c.weight).code }
      customers.push(customer)
      return customer
    },
    async command(flow, decider, name, data) {
      const commandId = uuidFromName(`demo/${seed}/${counters.id++}`)
      const metadata: CommandMetadata = { commandId, correlationId: flow.correlationId, ...(flow.causationId ? { causationId: flow.causationId } : {}) }
      flow.causationId = commandId
      clock.set(world.now)
      const legacy = decider === 'carts' && world.now < cartsV2From
      const outcome = await send(decider, name, legacy ? asCartsV1(name, data) : data, metadata, legacy ? { deciderOverride: 'carts.v1' } : undefined)
      world.now += random.int(200, 1500)
      summary.commands++
      if (outcome.ok) summary.events += outcome.events
      else {
        summary.rejected++
        summary.rejectedByRule[outcome.rejected.rule] = (summary.rejectedByRule[outcome.rejected.rule] ?? 0) + 1
      }
      if (summary.events >= progressAt) {
        options.onProgress?.(summary.events, targetEvents)
        progressAt += 1000
      }
      return outcome
    }
  }

  world.spawn(start, warehouse(world))
  world.spawn(start, dayPlanner(world, targetEvents, days))
  for (let entry = agenda.take(); entry && entry.at < end; entry = agenda.take()) {
    if (options.isCancelled?.()) {
      summary.cancelled = true
      break
    }
    world.now = Math.max(world.now, entry.at)
    const step = await entry.item.next()
    if (!step.done) agenda.add(world.now + step.value, entry.item)
  }

  for (const stage of world.orders.values()) summary.orders.inFlightBy[stage]++
  summary.orders.inFlight = world.orders.size
  summary.to = world.now
  options.onProgress?.(summary.events, targetEvents)
  return summary
}

/** Carts v1 took prices as strings of units. */
function asCartsV1(command: string, data: Record<string, unknown>): Record<string, unknown> {
  if (command !== 'AddItem') return data
  const { priceCents, ...rest } = data as { priceCents: number }
  return { ...rest, price: (priceCents / 100).toFixed(2) }
}

// ------------------------------------------------------------------------------------------------ pacing

const weekdayFactor = [0.85, 0.9, 0.95, 1, 1, 1.1, 1.2] // Sunday … Saturday
const hourWeight = [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 4, 4.5, 5, 5.5, 5, 4.5, 4.5, 5, 5.5, 6.5, 7.5, 8, 7, 5, 2.5]
const hours = hourWeight.map((weight, hour) => ({ hour, weight }))
const EVENTS_PER_SHOPPER = 14

/** At midnight, plans the day's shoppers so the log ends near the target: busier weekends, a two-day sale. */
async function* dayPlanner(w: World, targetEvents: number, days: number): Journey {
  const sale = Math.round(days * 0.65)
  const weights = Array.from({ length: days }, (_, day) => {
    const weekday = new Date(w.start + day * DAY).getUTCDay()
    return weekdayFactor[weekday] * (day === sale || day === sale + 1 ? 2.2 : 1)
  })
  let shoppers = 0
  for (let day = 0; day < days; day++) {
    const dayStart = w.start + day * DAY
    const perShopper = shoppers > 50 ? Math.max(8, w.summary.events / shoppers) : EVENTS_PER_SHOPPER
    const share = weights[day] / weights.slice(day).reduce((sum, x) => sum + x, 0)
    const today = Math.round((Math.max(0, targetEvents - w.summary.events) * share) / perShopper)
    for (let i = 0; i < today; i++) {
      const at = dayStart + w.random.weighted(hours, (h) => h.weight).hour * HOUR + w.random.int(0, HOUR - 1)
      w.spawn(Math.max(at, w.now), shopper(w))
    }
    shoppers += today
    yield dayStart + DAY - w.now
  }
}

// ------------------------------------------------------------------------------------------------ stock

/** Reorder points and quantities from the demand the target implies: about 5 days of cover, 15 days per delivery. */
function planStock(targetEvents: number, days: number): Map<string, StockPlan> {
  const ordersPerDay = targetEvents / days / 13
  const totalPopularity = products.reduce((sum, p) => sum + p.popularity, 0)
  const plans = new Map<string, StockPlan>()
  for (const product of products) {
    const unitsPerDay = (ordersPerDay * 2.1 * 1.45 * product.popularity) / totalPopularity
    plans.set(product.sku, {
      available: 0,
      onOrder: false,
      reorderPoint: Math.ceil(unitsPerDay * 5) + 1,
      reorderQuantity: Math.ceil(unitsPerDay * 15) + 3
    })
  }
  return plans
}

/** Opening stock, then a look at the shelves every morning at 07:00 and a purchase order where stock runs low. */
async function* warehouse(w: World): Journey {
  for (const [sku, plan] of w.stock) await receiveStock(w, sku, plan.reorderQuantity + plan.reorderPoint)
  for (;;) {
    yield startOfDay(w.now) + DAY + 7 * HOUR - w.now
    for (const [sku, plan] of w.stock) {
      if (plan.onOrder || plan.available >= plan.reorderPoint) continue
      plan.onOrder = true
      w.spawn(w.now, purchase(w, sku, plan.reorderQuantity))
    }
  }
}

async function* purchase(w: World, sku: string, quantity: number): Journey {
  // Suppliers take 3–6 days; now and then one is late, and that is when shelves run empty.
  const lead = w.random.chance(0.08) ? w.random.int(7, 10) : w.random.int(3, 6)
  yield startOfDay(w.now) + lead * DAY + 8 * HOUR + w.random.int(0, 2 * HOUR) - w.now
  await receiveStock(w, sku, quantity)
  w.stock.get(sku)!.onOrder = false
}

async function receiveStock(w: World, sku: string, quantity: number): Promise<void> {
  const purchaseOrder = `PO-${String(w.nextNumber('purchaseOrder')).padStart(5, '0')}`
  const received = await w.command(w.newFlow(), 'inventory', 'ReceiveStock', { sku, quantity, purchaseOrder })
  if (received.ok) w.stock.get(sku)!.available += quantity
}

// ------------------------------------------------------------------------------------------------ shoppers

const lineCounts = [
  { lines: 1, weight: 40 },
  { lines: 2, weight: 30 },
  { lines: 3, weight: 20 },
  { lines: 4, weight: 10 }
]
const quantities = [
  { quantity: 1, weight: 70 },
  { quantity: 2, weight: 20 },
  { quantity: 3, weight: 7 },
  { quantity: 4, weight: 2 },
  { quantity: 6, weight: 1 }
]
const espressoMachine = products.find((p) => p.sku === 'espresso-machine')!

/** A visit to the shop: fill a cart, maybe leave and come back days later, check out, then the order's journey. */
async function* shopper(w: World): Journey {
  const { random } = w
  const flow = w.newFlow()
  const customer = w.customer()
  const cartId = String(w.nextNumber('cart'))
  const lines: Line[] = []
  w.summary.carts.opened++
  await w.command(flow, 'carts', 'OpenCart', { cartId, customerId: customer.id })

  const add = async (product: Product, quantity: number) => {
    const added = await w.command(flow, 'carts', 'AddItem', { cartId, sku: product.sku, quantity, priceCents: product.priceCents })
    if (added.ok) lines.push({ sku: product.sku, quantity, priceCents: product.priceCents })
    return added
  }

  // An office kitting out its kitchen now and then buys machines in bulk, often above the payment limit.
  if (random.chance(0.015)) {
    yield minutes(random, 1, 4)
    await add(espressoMachine, random.int(2, 5))
  }
  const wanted = random.weighted(lineCounts, (c) => c.weight).lines
  while (lines.length < wanted) {
    const product = random.weighted(products, (p) => p.popularity)
    if (lines.some((line) => line.sku === product.sku)) continue
    yield minutes(random, 1, 6)
    await add(product, random.weighted(quantities, (q) => q.weight).quantity)
  }

  if (lines.length > 1 && random.chance(0.08)) {
    yield minutes(random, 1, 3)
    const [removed] = lines.splice(random.int(0, lines.length - 1), 1)
    await w.command(flow, 'carts', 'RemoveItem', { cartId, sku: removed.sku })
    // A double click sends the removal twice.
    if (random.chance(0.1)) await w.command(flow, 'carts', 'RemoveItem', { cartId, sku: removed.sku })
  }

  if (random.chance(0.16)) {
    if (!random.chance(0.4)) {
      w.summary.carts.abandoned++
      return
    }
    // Back days later for one more thing; by then the carts code may have changed.
    yield random.int(1, 10) * DAY + random.int(0, 12 * HOUR)
    const product = random.weighted(products, (p) => p.popularity)
    if (!lines.some((line) => line.sku === product.sku)) await add(product, 1)
  }

  yield minutes(random, 1, 4)
  const orderId = String(w.nextNumber('order'))
  await w.command(flow, 'carts', 'CheckOut', { cartId, orderId })
  w.summary.carts.checkedOut++
  // An impatient double click checks out twice.
  if (random.chance(0.04)) await w.command(flow, 'carts', 'CheckOut', { cartId, orderId })
  // A second browser tab still shows the cart.
  if (random.chance(0.015)) {
    yield minutes(random, 1, 20)
    const product = random.weighted(products, (p) => p.popularity)
    await w.command(flow, 'carts', 'AddItem', { cartId, sku: product.sku, quantity: 1, priceCents: product.priceCents })
  }
  yield* fulfilment(w, flow, customer, cartId, orderId, lines)
}

// ------------------------------------------------------------------------------------------------ orders

/** One order's saga: reserve each line, charge, wait for the packing run, ship, deliver; compensate on refusal. */
async function* fulfilment(w: World, flow: Flow, customer: Customer, cartId: string, orderId: string, lines: Line[]): Journey {
  const { random } = w
  const totalCents = lines.reduce((sum, line) => sum + line.quantity * line.priceCents, 0)
  yield random.int(2, 20) * SECOND
  await w.command(flow, 'orders', 'PlaceOrder', { orderId, cartId, customerId: customer.id, country: customer.country, lines })
  w.summary.orders.placed++
  w.orders.set(orderId, 'awaitingPayment')

  const reserved: Line[] = []
  const releaseAll = async () => {
    for (const line of reserved) {
      const released = await w.command(flow, 'inventory', 'ReleaseStock', { sku: line.sku, orderId })
      if (released.ok) w.stock.get(line.sku)!.available += line.quantity
    }
  }
  const compensated = (reason: CancelReason) => {
    w.orders.delete(orderId)
    w.summary.orders.compensated++
    w.summary.orders.compensatedBy[reason]++
  }

  for (const line of lines) {
    yield random.int(1, 5) * SECOND
    const reservation = await w.command(flow, 'inventory', 'ReserveStock', { sku: line.sku, orderId, quantity: line.quantity })
    if (!reservation.ok) {
      await releaseAll()
      await w.command(flow, 'orders', 'CancelOrder', { orderId, reason: 'out-of-stock' })
      return compensated('out-of-stock')
    }
    reserved.push(line)
    w.stock.get(line.sku)!.available -= line.quantity
    // A reservation that timed out on the wire is retried; the decider knows it holds it already.
    if (random.chance(0.03)) await w.command(flow, 'inventory', 'ReserveStock', { sku: line.sku, orderId, quantity: line.quantity })
  }

  // The payment provider sometimes never answers (and is down on the last evening): the order waits, stock held.
  if (random.chance(0.004) || w.now > w.end - 6 * HOUR) {
    // The packing run finds the stock set aside and tries to ship; the order refuses.
    yield packingRun(w) - w.now
    await w.command(flow, 'orders', 'ShipOrder', { orderId, ...parcelFor(w, customer) })
    return
  }

  yield random.int(5, 60) * SECOND
  if (random.chance(0.04)) {
    const reason = random.pick(['insufficient-funds', 'card-expired', 'suspected-fraud'])
    await w.command(flow, 'payments', 'DeclinePayment', { orderId, reason })
    // Half of the declined customers try another card a few minutes later.
    if (!random.chance(0.5)) {
      await releaseAll()
      await w.command(flow, 'orders', 'CancelOrder', { orderId, reason: 'payment-declined' })
      return compensated('payment-declined')
    }
    yield minutes(random, 2, 10)
  }
  const charge = { orderId, customerId: customer.id, amountCents: totalCents }
  if (!(await w.command(flow, 'payments', 'ChargePayment', charge)).ok) {
    await releaseAll()
    await w.command(flow, 'orders', 'CancelOrder', { orderId, reason: 'payment-refused' })
    return compensated('payment-refused')
  }
  // The checkout page retries a charge whose answer was slow; the payment must not be taken twice.
  if (random.chance(0.06)) await w.command(flow, 'payments', 'ChargePayment', charge)
  await w.command(flow, 'orders', 'MarkOrderPaid', { orderId, amountCents: totalCents })
  w.orders.set(orderId, 'awaitingShipment')

  const packAt = packingRun(w)
  if (random.chance(0.025)) {
    // The customer changes their mind before the parcel is packed.
    yield Math.floor((packAt - w.now) * random.next())
    await w.command(flow, 'orders', 'CancelOrder', { orderId, reason: 'customer-request' })
    await w.command(flow, 'payments', 'RefundPayment', { orderId, amountCents: totalCents, reason: 'customer-request' })
    await releaseAll()
    return compensated('customer-request')
  }
  yield packAt - w.now

  const { carrier, trackingNumber } = parcelFor(w, customer)
  const shipment = await w.command(flow, 'shipping', 'CreateShipment', { orderId, country: customer.country, carrier, trackingNumber })
  if (!shipment.ok) {
    await w.command(flow, 'payments', 'RefundPayment', { orderId, amountCents: totalCents, reason: 'undeliverable' })
    await releaseAll()
    await w.command(flow, 'orders', 'CancelOrder', { orderId, reason: 'undeliverable' })
    return compensated('undeliverable')
  }
  for (const line of reserved) await w.command(flow, 'inventory', 'DispatchStock', { sku: line.sku, orderId })
  await w.command(flow, 'orders', 'ShipOrder', { orderId, carrier, trackingNumber })
  w.orders.set(orderId, 'awaitingDelivery')

  if (random.chance(0.01)) {
    // Too late: the parcel has left.
    yield random.int(2, 30) * HOUR
    await w.command(flow, 'orders', 'CancelOrder', { orderId, reason: 'customer-request' })
  }
  yield startOfDay(w.now) + random.int(1, 4) * DAY + 9 * HOUR + random.int(0, 9 * HOUR) - w.now
  await w.command(flow, 'shipping', 'DeliverShipment', { orderId })
  // Carriers' scan webhooks arrive at least once, sometimes twice.
  if (random.chance(0.08)) await w.command(flow, 'shipping', 'DeliverShipment', { orderId })
  w.orders.delete(orderId)
  w.summary.orders.completed++
}

function parcelFor(w: World, customer: Customer): { carrier: string; trackingNumber: string } {
  const { carrier, prefix } = carrierFor(customer.country)
  return { carrier, trackingNumber: `${prefix}${String(w.random.int(0, 99_999_999)).padStart(8, '0')}` }
}

/** The warehouse packs in the afternoon what was paid by 14:00, the rest the next morning; never on Sundays. */
function packingRun(w: World): number {
  const today = startOfDay(w.now)
  let day = w.now - today < 14 * HOUR ? today : today + DAY
  let firstHour = day === today ? 15 : 9
  while (new Date(day).getUTCDay() === 0) {
    day += DAY
    firstHour = 9
  }
  return Math.max(w.now, day + firstHour * HOUR + w.random.int(0, 3 * HOUR))
}

function startOfDay(ms: number): number {
  return ms - (((ms % DAY) + DAY) % DAY)
}

function minutes(random: Random, min: number, max: number): number {
  return random.int(min * MINUTE, max * MINUTE)
}
