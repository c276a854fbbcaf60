/**
 * The benchmark's workload: the same deterministic events for every system.
 *
 * - phase (a): `batchStreams` streams (`Order-<n>`), one call of 100 events each, expected version 0;
 * - phase (b): `singleCalls` one-event calls, round-robin over `singleStreams` streams (`Cart-<n>`), each with the
 *   stream's exact current version;
 * - phase (c): reads of whole `Order-<n>` streams (100 events each), picked at random;
 * - phase (d): everything in global order, folded (count per type, sum of `amount`);
 * - phase (e): bytes on disk per stored event.
 */

export const EVENTS_PER_BATCH = 100
export const FULL_BATCH_STREAMS = 10_000
export const FULL_SINGLE_CALLS = 50_000
export const FULL_SINGLE_STREAMS = 500
export const FULL_READS = 5_000
export const READ_ALL_PAGE = 1_000

export interface BenchEvent {
  type: string
  data: Record<string, unknown>
}

/** One append call of a phase: the events for a stream, with the version the stream is expected to be at. */
export interface Call {
  streamId: string
  events: BenchEvent[]
  expectedVersion: number
}

export const EVENT_TYPES = ['ItemAdded', 'ItemRemoved', 'PriceChanged', 'DiscountApplied', 'OrderPlaced'] as const

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = ['red', 'blue', 'large', 'small', 'gift', 'wrap', 'express', 'fragile', 'organic', 'refurbished', 'bundle', 'spare']

/** One event of about 250 bytes of JSON (the data alone); `key` makes it reproducible. */
export function makeEvent(key: number, streamId: string, version: number): BenchEvent {
  const r = prng(key * 2654435761 + 12345)
  const type = EVENT_TYPES[Math.floor(r() * EVENT_TYPES.length)]
  const words: string[] = []
  for (let i = 0; i < 4; i++) words.push(WORDS[Math.floor(r() * WORDS.length)])
  return {
    type,
    data: {
      orderId: streamId,
      line: version,
      sku: `SKU-${String(Math.floor(r() * 100_000)).padStart(5, '0')}-${Math.floor(r() * 10)}`,
      quantity: 1 + Math.floor(r() * 9),
      amount: Math.round(r() * 100_000) / 100,
      currency: 'EUR',
      customer: { id: `C-${Math.floor(r() * 1_000_000)}`, segment: r() < 0.5 ? 'retail' : 'business', country: 'DE' },
      warehouse: `WH-${1 + Math.floor(r() * 20)}`,
      channel: r() < 0.7 ? 'web' : 'shop',
      note: words.join(' '),
      at: 1_790_000_000_000 + key * 1000
    }
  }
}

export interface Workload {
  scale: number
  batchStreams: number
  singleCalls: number
  singleStreams: number
  reads: number
}

export function workload(scale: number): Workload {
  return {
    scale,
    batchStreams: Math.max(10, Math.round(FULL_BATCH_STREAMS * scale)),
    singleCalls: Math.max(100, Math.round(FULL_SINGLE_CALLS * scale)),
    singleStreams: Math.max(5, Math.round(FULL_SINGLE_STREAMS * scale)),
    reads: Math.max(500, Math.round(FULL_READS * scale))
  }
}

export const batchStreamId = (n: number): string => `Order-${n}`
export const singleStreamId = (n: number): string => `Cart-${n}`

/** Phase (a), call n: stream Order-n, created with 100 events (expected version 0). */
export function batchCall(n: number): Call {
  const streamId = batchStreamId(n)
  const events: BenchEvent[] = []
  for (let i = 0; i < EVENTS_PER_BATCH; i++) events.push(makeEvent(n * EVENTS_PER_BATCH + i, streamId, i + 1))
  return { streamId, events, expectedVersion: 0 }
}

/** Phase (b), call n: one event to Cart-(n mod streams), whose version is then floor(n / streams). */
export function singleCall(n: number, streams: number): Call {
  const streamId = singleStreamId(n % streams)
  const expectedVersion = Math.floor(n / streams)
  return { streamId, events: [makeEvent(50_000_000 + n, streamId, expectedVersion + 1)], expectedVersion }
}

/** The fold of phase (d): what a projection over $all would compute. */
export class Fold {
  events = 0
  amount = 0
  readonly perType = new Map<string, number>()

  add(type: string, data: unknown): void {
    this.events++
    this.perType.set(type, (this.perType.get(type) ?? 0) + 1)
    const amount = (data as { amount?: unknown }).amount
    if (typeof amount === 'number') this.amount += amount
  }

  summary(): string {
    const types = [...this.perType.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([t, n]) => `${t}=${n}`)
    return `${this.events} events, amount ${this.amount.toFixed(2)}, ${types.join(' ')}`
  }
}
