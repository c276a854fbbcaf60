import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { contract } from '../../shared/contract'
import { connect } from '../../shared/rpc/client'
import { createMemoryPair } from '../../shared/rpc/memory'
import { serve } from '../../shared/rpc/server'
import { openWorkbench, type Workbench } from '../../main/services'
import { SqliteEventStore } from '../../main/store/sqlite-store'

let dir: string
let workbench: Workbench
let client: ReturnType<typeof connect<typeof contract>>

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'esw-versioning-'))
  workbench = await openWorkbench({ host: 'test', workspaceDir: join(dir, 'ws') })
  const [a, b] = createMemoryPair()
  serve(workbench.contract, workbench.implementation, a, { events: workbench.events })
  client = connect(contract, b)
})
afterEach(async () => {
  client.close()
  await workbench.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('the versioning service over RPC', () => {
  it('answers with shapes that include every event appended before the request', async () => {
    await client.store.append({ streamId: 'cart-1', events: [{ type: 'ItemAdded', data: { sku: 'a', price: '1.50' } }] })
    await client.store.append({ streamId: 'cart-1', events: [{ type: 'ItemAdded', schemaVersion: 2, data: { sku: 'b', priceCents: 150 } }] })
    await client.store.append({ streamId: 'order-1', events: [{ type: 'OrderPlaced', data: { total: 3 } }] })
    const all = await client.versioning.schemas()
    expect(all.map((s) => [s.type, s.schemaVersion, s.count])).toEqual([
      ['ItemAdded', 1, 1],
      ['ItemAdded', 2, 1],
      ['OrderPlaced', 1, 1]
    ])
    const [v2] = (await client.versioning.schemas({ type: 'ItemAdded' })).filter((s) => s.schemaVersion === 2)
    expect(v2.shape.fields?.map((f) => f.name)).toEqual(['sku', 'priceCents'])
    expect(v2.examples[0]).toMatchObject({ position: 2, streamId: 'cart-1', data: { sku: 'b', priceCents: 150 } })
    const drift = await client.versioning.drift({ type: 'ItemAdded' })
    expect(drift.versions).toEqual([1, 2])
    expect(drift.buckets).toHaveLength(1)
    expect(drift.buckets[0].counts).toEqual([1, 1])
  })

  it('follows appends by another process and announces the update', async () => {
    const updates: Array<{ position: number; types: string[] }> = []
    client.versioning.on('updated', (u) => updates.push(u))
    await new Promise((r) => setTimeout(r, 10))
    const other = new SqliteEventStore(join(dir, 'ws', 'events.db'))
    await other.appendToStream('ship-1', [{ type: 'ShipmentSent', data: { carrier: 'post' } }])
    await other.close()
    const deadline = Date.now() + 5000
    while (!updates.some((u) => u.types.includes('ShipmentSent')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(updates.at(-1)).toEqual({ position: 1, types: ['ShipmentSent'] })
  })

  it('gives the editor declarations of the inferred event types', async () => {
    await client.store.append({ streamId: 'cart-1', events: [{ type: 'ItemAdded', data: { sku: 'a', quantity: 2 } }] })
    const { files } = await client.workspace.typings()
    const events = files.find((f) => f.path.endsWith('workspace-events.d.ts'))!.content
    expect(events).toContain('"ItemAdded": { schemaVersion: 1; data: {')
    expect(events).toMatch(/quantity: number/)
  })

  it('refuses a drift request without a type, naming the field', async () => {
    await expect(client.versioning.drift({} as { type: string })).rejects.toMatchObject({ code: 'InvalidInput', message: expect.stringContaining('type') })
    await expect(client.versioning.drift({ type: 'A', buckets: 0 })).rejects.toMatchObject({ code: 'InvalidInput', message: expect.stringContaining('buckets') })
  })
})
