import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { contract, type JobInfo } from '../../shared/contract'
import { connect } from '../../shared/rpc/client'
import { createMemoryPair } from '../../shared/rpc/memory'
import { serve } from '../../shared/rpc/server'
import { openWorkbench } from '../../main/services'
import { TrustRegistry } from '../../main/workspace/trust'

describe('the demo workspace', () => {
  it('is created on first run, trusted, and its log generated through the deciders in a job', async () => {
    const home = mkdtempSync(join(tmpdir(), 'esw-demo-'))
    const previous = process.env.ESW_HOME
    process.env.ESW_HOME = home
    try {
      const updates: JobInfo[] = []
      const workbench = await openWorkbench({ host: 'test', trust: new TrustRegistry(home), demoEvents: 3000 })
      const [a, b] = createMemoryPair()
      serve(workbench.contract, workbench.implementation, a, { events: workbench.events })
      const client = connect(contract, b)
      client.jobs.on('updated', (job) => updates.push(job))
      const state = await client.workspace.state()
      expect(state).toMatchObject({ name: 'Demo shop', demo: true, trusted: true })
      expect(state.definitions.filter((d) => d.kind === 'decider').map((d) => d.name).sort()).toEqual(['carts', 'inventory', 'orders', 'payments', 'shipping'])
      // Id fields say what to type: the number in the stream id.
      const carts = (await client.commands.deciders()).find((d) => d.name === 'carts')!
      const addItem = carts.commands.find((c) => c.name === 'AddItem')!.schema as { properties: Record<string, { description?: string }> }
      expect(addItem.properties.cartId.description).toBe('The number in the stream id: 1027 for cart-1027')
      await workbench.jobs.idle()
      const [seed] = await client.jobs.list()
      expect(seed).toMatchObject({ kind: 'seed', state: 'succeeded' })
      const stats = await client.store.stats()
      expect(stats.events).toBeGreaterThan(2500)
      expect(stats.eventTypes.map((t) => t.type)).toContain('ItemAdded')
      // Checkouts priced in whole cents, also those the carts decider of v1 made (it reads its events as stored).
      const checkouts = (await client.store.readAll({ filter: { types: ['CartCheckedOut'] }, limit: 1000 })).events
      const added = (await client.store.readAll({ filter: { types: ['ItemAdded'] }, limit: 1000 })).events
      const firstV2 = Math.min(...added.filter((e) => e.schemaVersion === 2).map((e) => e.recordedAt))
      expect(checkouts.some((e) => e.recordedAt < firstV2)).toBe(true)
      for (const e of checkouts) {
        const lines = e.data.lines as Array<{ quantity: number; priceCents: unknown }>
        expect(lines.every((l) => Number.isInteger(l.priceCents))).toBe(true)
        expect(e.data.totalCents).toBe(lines.reduce((sum, l) => sum + l.quantity * (l.priceCents as number), 0))
      }
      // The log is the same every time: the seed fixes it.
      const first = (await client.store.readAll({ limit: 50 })).events.map((e) => [e.streamId, e.type, e.data])
      expect(first.length).toBe(50)
      // The demo's projections follow the log to its head.
      await workbench.workspace().projections.idle(60_000)
      const projections = await client.projections.list()
      expect(projections.map((p) => p.name).sort()).toEqual(['customer_history', 'inventory_levels', 'order_summary', 'revenue_per_day'])
      expect(projections.every((p) => p.position === stats.headPosition)).toBe(true)
      const orders = await client.projections.page({ projection: 'order_summary', table: 'orders', limit: 5, withTotal: true })
      expect(orders.rows).toHaveLength(5)
      expect(orders.total).toBeGreaterThan(50)
      expect(orders.lag.lagEvents).toBe(0)
      // A named query with an input: the days from a date on.
      const days = (await client.projections.page({ projection: 'revenue_per_day', table: 'days', limit: 1000 })).rows.map((r) => r.day as string)
      const from = days[Math.floor(days.length / 2)]
      const range = await client.projections.runQuery({ projection: 'revenue_per_day', query: 'range', input: { from } })
      expect(range.rows.map((r) => r.day)).toEqual(days.filter((d) => d >= from))
      expect(range.rows.length).toBeLessThan(days.length)
      // inventory_levels is inline: a command's stock movement is in the table when the command returns.
      expect(projections.find((p) => p.name === 'inventory_levels')?.lifecycle).toBe('inline')
      const level = async () => (await client.projections.page({ projection: 'inventory_levels', table: 'levels', where: { sku: 'beans-kenya-250g' }, limit: 1 })).rows[0]
      const before = await level()
      const sent = await client.commands.send({ decider: 'inventory', command: 'ReceiveStock', data: { sku: 'beans-kenya-250g', quantity: 7, purchaseOrder: 'po-test' } })
      expect(sent.outcome).toBe('accepted')
      expect(await level()).toMatchObject({ received: Number(before?.received ?? 0) + 7 })
      // The latest orders went through the order_fulfilment saga: completed, compensated and parked instances.
      // (The workspace loads the generated log just after the job: the instances come with it.)
      await expect.poll(async () => (await client.sagas.instances({ saga: 'order_fulfilment' })).total, { timeout: 20_000 }).toBeGreaterThan(0)
      const sagas = await client.sagas.instances({ saga: 'order_fulfilment' })
      expect(sagas.counts).toMatchObject({ completed: expect.any(Number), compensated: expect.any(Number), parked: expect.any(Number) })
      expect(sagas.counts.completed).toBeGreaterThan(5)
      expect(sagas.counts.compensated).toBeGreaterThan(2)
      expect(sagas.counts.parked).toBeGreaterThan(0)
      expect(sagas.counts.running ?? 0).toBe(0)
      const parked = sagas.instances.find((i) => i.status === 'parked')!
      expect(parked.reason).toContain('compensation of charge-payment')
      // The history was not fulfilled again by the live sagas.
      const started = await client.store.readAll({ filter: { types: ['SagaStarted'] }, limit: 1000 })
      expect(started.events.length).toBe(sagas.total)
      const typings = await client.workspace.typings()
      expect(typings.files[1].content).toContain('"ItemAdded"')
      client.close()
      await workbench.close()
    } finally {
      process.env.ESW_HOME = previous
      rmSync(home, { recursive: true, force: true })
    }
  }, 120_000)
})
