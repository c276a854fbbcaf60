import { describe, expect, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { connect } from './client'
import { defineService, event, method, type Client, type Implementation } from './contract'
import { RpcError } from './errors'
import { EventHub } from './events'
import { createMemoryPair } from './memory'
import { serve } from './server'

const contract = {
  orders: defineService({
    methods: {
      place: method(
        'Places an order',
        z.object({ orderId: z.string().min(1), lines: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })) }),
        z.object({ accepted: z.boolean(), total: z.number() })
      ),
      explode: method('Always throws', z.void(), z.object({})),
      lie: method('Returns something that breaks its output schema', z.void(), z.object({ n: z.number() })),
      count: method('How many orders were placed', z.void(), z.number())
    },
    events: {
      placed: event('An order was placed', z.object({ orderId: z.string() }))
    }
  })
}
type C = typeof contract

function setup(options: { maxMessageBytes?: number } = {}) {
  const hub = new EventHub<C>()
  let placed = 0
  const implementation: Implementation<C> = {
    orders: {
      place: ({ orderId, lines }) => {
        placed++
        hub.emit('orders', 'placed', { orderId })
        return { accepted: true, total: lines.reduce((sum, l) => sum + l.qty, 0) }
      },
      explode: () => {
        throw new Error('the disk is on fire')
      },
      lie: () => ({ n: 'not a number' }) as unknown as { n: number },
      count: () => placed
    }
  }
  const [serverSide, clientSide] = createMemoryPair()
  const stopServer = serve(contract, implementation, serverSide, { events: hub, maxMessageBytes: options.maxMessageBytes })
  const client = connect(contract, clientSide)
  return { hub, client, serverSide, clientSide, stopServer }
}

const tick = () => new Promise((r) => setTimeout(r, 5))

describe('rpc over the in-memory pair', () => {
  it('makes typed calls and returns the service result', async () => {
    const { client } = setup()
    const result = await client.orders.place({ orderId: 'o-1', lines: [{ sku: 'a', qty: 2 }, { sku: 'b', qty: 3 }] })
    expect(result).toEqual({ accepted: true, total: 5 })
    expect(await client.orders.count()).toBe(1)
  })

  it('delivers events to subscribers and stops after dispose, leaving no listener behind', async () => {
    const { client, hub } = setup()
    const seen: string[] = []
    const dispose = client.orders.on('placed', (p) => seen.push(p.orderId))
    await tick()
    expect(hub.listenerCount()).toBe(1)
    await client.orders.place({ orderId: 'o-1', lines: [] })
    await tick()
    expect(seen).toEqual(['o-1'])
    dispose()
    await tick()
    expect(hub.listenerCount()).toBe(0)
    await client.orders.place({ orderId: 'o-2', lines: [] })
    await tick()
    expect(seen).toEqual(['o-1'])
  })

  it('shares one server subscription between two local listeners', async () => {
    const { client, hub } = setup()
    const a: string[] = []
    const b: string[] = []
    const da = client.orders.on('placed', (p) => a.push(p.orderId))
    const db = client.orders.on('placed', (p) => b.push(p.orderId))
    await tick()
    expect(hub.listenerCount()).toBe(1)
    await client.orders.place({ orderId: 'x', lines: [] })
    await tick()
    expect([a, b]).toEqual([['x'], ['x']])
    da()
    await tick()
    expect(hub.listenerCount()).toBe(1)
    db()
    await tick()
    expect(hub.listenerCount()).toBe(0)
  })

  it('answers InvalidInput naming the bad field path and what was expected', async () => {
    const { client } = setup()
    const bad = client.orders.place({ orderId: 'o-1', lines: [{ sku: 'a', qty: 'two' as unknown as number }] })
    await expect(bad).rejects.toMatchObject({ code: 'InvalidInput' })
    const error = (await bad.catch((e: unknown) => e)) as RpcError
    expect(error).toBeInstanceOf(RpcError)
    expect(error.message).toContain('lines[0].qty')
    expect(error.message).toMatch(/expected number/i)
    expect(error.details).toMatchObject({ issues: [{ path: 'lines[0].qty' }] })
  })

  it('answers UnknownMethod for a method the contract does not have', async () => {
    const { serverSide, clientSide } = setup()
    void serverSide
    const replies: unknown[] = []
    clientSide.onMessage((m) => replies.push(JSON.parse(m)))
    clientSide.send(JSON.stringify({ t: 'req', id: 99, s: 'orders', m: 'cancel', p: {} }))
    clientSide.send(JSON.stringify({ t: 'req', id: 100, s: 'nope', m: 'info' }))
    clientSide.send(JSON.stringify({ t: 'req', id: 101, s: 'orders', m: 'toString' }))
    await tick()
    expect(replies).toEqual([
      expect.objectContaining({ id: 99, ok: false, e: expect.objectContaining({ code: 'UnknownMethod', message: 'Unknown method orders.cancel' }) }),
      expect.objectContaining({ id: 100, ok: false, e: expect.objectContaining({ code: 'UnknownMethod' }) }),
      expect.objectContaining({ id: 101, ok: false, e: expect.objectContaining({ code: 'UnknownMethod' }) })
    ])
  })

  it('turns an exception in a service into Internal and keeps serving', async () => {
    const { client } = setup()
    await expect(client.orders.explode()).rejects.toMatchObject({ code: 'Internal', message: 'orders.explode failed: the disk is on fire' })
    expect(await client.orders.count()).toBe(0)
  })

  it('refuses a result that breaks the output schema', async () => {
    const { client } = setup()
    await expect(client.orders.lie()).rejects.toMatchObject({ code: 'Internal', message: expect.stringContaining('breaks its contract') })
  })

  it('answers malformed and oversize messages with an error and goes on', async () => {
    const { clientSide, client } = setup({ maxMessageBytes: 1024 })
    const replies: Array<{ id: number | null; e?: { code: string; message: string } }> = []
    clientSide.onMessage((m) => replies.push(JSON.parse(m)))
    clientSide.send('{not json')
    clientSide.send(JSON.stringify({ t: 'req', id: 7 }))
    clientSide.send(JSON.stringify({ t: 'req', id: 8, s: 'orders', m: 'place', p: { orderId: 'x'.repeat(2000), lines: [] } }))
    await tick()
    expect(replies[0]).toMatchObject({ id: null, e: { code: 'InvalidInput', message: expect.stringContaining('not JSON') } })
    expect(replies[1]).toMatchObject({ id: 7, e: { code: 'InvalidInput' } })
    expect(replies[2]).toMatchObject({ id: null, e: { code: 'PayloadTooLarge', message: expect.stringContaining('1024 bytes') } })
    expect(await client.orders.count()).toBe(0)
  })

  it('rejects pending calls with Disconnected when the transport closes, and drops server subscriptions', async () => {
    const { client, hub, clientSide } = setup()
    client.orders.on('placed', () => {})
    await tick()
    expect(hub.listenerCount()).toBe(1)
    const pending = client.orders.count()
    clientSide.close()
    await expect(pending).rejects.toMatchObject({ code: 'Disconnected' })
    expect(hub.listenerCount()).toBe(0)
    await expect(client.orders.count()).rejects.toMatchObject({ code: 'Disconnected' })
  })

  it('stops listening on the protocol when the server is disposed', async () => {
    const { stopServer, serverSide, client } = setup()
    const before = (serverSide as unknown as { listenerCount(): number }).listenerCount()
    stopServer()
    expect((serverSide as unknown as { listenerCount(): number }).listenerCount()).toBe(before - 1)
    client.close()
  })

  it('derives the client type from the contract', () => {
    type OrdersClient = Client<C>['orders']
    expectTypeOf<OrdersClient['place']>().toEqualTypeOf<
      (input: { orderId: string; lines: { sku: string; qty: number }[] }) => Promise<{ accepted: boolean; total: number }>
    >()
    expectTypeOf<OrdersClient['count']>().toEqualTypeOf<(input?: void) => Promise<number>>()
    expectTypeOf<Parameters<OrdersClient['on']>[0]>().toEqualTypeOf<'placed'>()
  })
})
