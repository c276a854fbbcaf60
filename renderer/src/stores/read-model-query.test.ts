import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { RowsPage } from '../../../shared/contract'
import { RpcError } from '../../../shared/rpc/errors'
import { fakeClient, installFakeClient, projectionDescriptor, projectionStatus } from './fake-client'
import { useProjectionsStore } from './projections'
import { lagText, useReadModelQueryStore } from './read-model-query'

beforeEach(() => setActivePinia(createPinia()))

const page = (rows: number, next: string | null, lagEvents = 0): RowsPage => ({
  columns: [{ name: 'orderId', type: 'text' }, { name: 'status', type: 'text' }],
  rows: Array.from({ length: rows }, (_, i) => ({ orderId: `o-${i}`, status: 'paid', _position: i + 1, _stream: `order-${i}` })),
  next,
  total: null,
  lag: { position: 100 - lagEvents, headPosition: 100, lagEvents }
})

async function setup(runQuery: (input: never) => Promise<unknown>) {
  installFakeClient(
    fakeClient({
      projections: {
        list: async () => [projectionStatus('order_summary')],
        describe: async () => ({ descriptor: projectionDescriptor('order_summary'), status: projectionStatus('order_summary') }),
        runQuery
      }
    })
  )
  await useProjectionsStore().open()
  const query = useReadModelQueryStore()
  await query.setProjection('order_summary')
  return query
}

describe('lag', () => {
  it('says how far behind the log a result is', () => {
    expect(lagText({ position: 2990, headPosition: 3000, lagEvents: 10 })).toBe('10 events behind the log: position 2,990 of head 3,000')
    expect(lagText({ position: 2999, headPosition: 3000, lagEvents: 1 })).toBe('1 event behind the log: position 2,999 of head 3,000')
    expect(lagText({ position: 3000, headPosition: 3000, lagEvents: 0 })).toBe('Up to date with the log: position 3,000 of head 3,000')
    expect(lagText(null)).toBe('')
  })
})

describe('named queries', () => {
  it('chooses the first query of the projection, with a form from its input schema', async () => {
    const query = await setup(async () => page(0, null))
    expect(query.queries.map((q) => q.name)).toEqual(['byStatus'])
    expect(query.queryName).toBe('byStatus')
    expect(query.schema.properties?.status?.enum).toEqual(['placed', 'paid'])
  })

  it('holds back input the form knows is wrong', async () => {
    const runQuery = vi.fn(async () => page(1, null))
    const query = await setup(runQuery)
    await query.run()
    expect(runQuery).not.toHaveBeenCalled()
    expect(query.blocker).toBe('Fix 1 field first')
    expect(query.fieldIssues.status).toBe('Required')
  })

  it('runs a query and shows its results with their lag, then reads more after the last row', async () => {
    const runQuery = vi.fn(async (input: { after?: string | null }) => (input.after ? page(2, null, 3) : page(200, 'c1', 3)))
    const query = await setup(runQuery as never)
    query.setData({ status: 'paid' })
    await query.run()
    expect(runQuery).toHaveBeenCalledWith({ projection: 'order_summary', query: 'byStatus', input: { status: 'paid' }, limit: 200 })
    expect(query.result?.rows).toHaveLength(200)
    expect(lagText(query.result?.lag)).toBe('3 events behind the log: position 97 of head 100')
    await query.more()
    expect(runQuery).toHaveBeenLastCalledWith({ projection: 'order_summary', query: 'byStatus', input: { status: 'paid' }, after: 'c1', limit: 200 })
    expect(query.result?.rows).toHaveLength(202)
    expect(query.result?.next).toBeNull()
  })

  it('sends JSON as typed, and shows the engine issues by field', async () => {
    const runQuery = vi.fn(() => Promise.reject(new RpcError('InvalidInput', 'Input of order_summary.byStatus: status: Invalid option', { issues: [{ path: 'status', message: 'Invalid option' }] })))
    const query = await setup(runQuery)
    query.setMode('json')
    query.jsonText = '{"status": "lost"}'
    await query.run()
    expect(runQuery).toHaveBeenCalledWith({ projection: 'order_summary', query: 'byStatus', input: { status: 'lost' }, limit: 200 })
    expect(query.failure?.message).toBe('Input of order_summary.byStatus: status: Invalid option')
    expect(query.fieldIssues.status).toBe('Invalid option')
    query.jsonText = '{'
    expect(query.blocker).toMatch(/^Not valid JSON/)
  })
})
