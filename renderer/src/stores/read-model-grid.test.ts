import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { PageRequest, RowsPage } from '../../../shared/contract'
import { RpcError } from '../../../shared/rpc/errors'
import { fakeClient, installFakeClient, projectionDescriptor, projectionStatus } from './fake-client'
import { useProjectionsStore } from './projections'
import { MAX_HELD_PAGES, PAGE_SIZE, pagesToDrop, parseFilter, rowEvent, sortableColumns, useReadModelGridStore, type Row } from './read-model-grid'

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.useRealTimers())

const settle = async (times = 3) => {
  for (let i = 0; i < times; i++) await new Promise((r) => setTimeout(r, 0))
}

/** Row i of a table of `size` orders, made on demand (a million rows cost nothing until read). */
const orderRow = (i: number): Row => ({
  orderId: `o-${String(i).padStart(7, '0')}`,
  status: i % 3 === 0 ? 'paid' : 'placed',
  totalCents: (i * 37) % 1000,
  placedAt: i,
  tags: null,
  _position: i + 1,
  _stream: `order-${i}`
})

/**
 * A `projections.page` over `size` generated rows with the engine's keyset semantics: ordered by the sort column
 * then the key, `after` is the last row's [sort value, key] as JSON. Sorting by the key alone walks the indexes
 * without materialising the table; other orders and filters scan it (keep those tables small).
 */
function fakePager(size: () => number, requests: PageRequest[] = []) {
  return vi.fn(async (input: PageRequest): Promise<RowsPage> => {
    requests.push(input)
    const orderBy = input.orderBy ?? 'orderId'
    const dir = input.direction === 'desc' ? -1 : 1
    const limit = input.limit ?? 200
    const after = input.after ? (JSON.parse(input.after) as [unknown, string]) : null
    const cmp = (a: Row, b: [unknown, string]) => {
      const x = a[orderBy] as string | number
      const y = b[0] as string | number
      return (x < y ? -1 : x > y ? 1 : 0) || (a.orderId as string).localeCompare(b[1])
    }
    const where = input.where ?? {}
    const matches = (r: Row) =>
      Object.entries(where).every(([col, f]) => {
        const v = r[col] as string | number
        if (f === null || typeof f !== 'object') return v === f
        return (f.gt === undefined || v > f.gt) && (f.lte === undefined || v <= f.lte) && (f.gte === undefined || v >= f.gte) && (f.in === undefined || f.in.includes(v))
      })
    let rows: Row[] = []
    let total: number
    if (orderBy === 'orderId' && Object.keys(where).length === 0) {
      // Row i's key sorts as i: seek instead of scanning.
      const n = size()
      const start = after ? Number(after[1].slice(2)) + dir : dir === 1 ? 0 : n - 1
      for (let i = start; i >= 0 && i < n && rows.length <= limit; i += dir) rows.push(orderRow(i))
      total = n
    } else {
      const all = Array.from({ length: size() }, (_, i) => orderRow(i)).filter(matches)
      all.sort((a, b) => dir * cmp(a, [b[orderBy], b.orderId as string]))
      rows = all.filter((r) => !after || dir * cmp(r, after) > 0).slice(0, limit + 1)
      total = all.length
    }
    const more = rows.length > limit
    rows = rows.slice(0, limit)
    const last = rows[rows.length - 1]
    return {
      columns: [
        { name: 'orderId', type: 'text' },
        { name: 'status', type: 'text' },
        { name: 'totalCents', type: 'integer' },
        { name: 'placedAt', type: 'integer' },
        { name: 'tags', type: 'json' },
        { name: '_position', type: 'integer' },
        { name: '_stream', type: 'text' }
      ],
      rows,
      next: more && last ? JSON.stringify([last[orderBy], last.orderId]) : null,
      total: input.withTotal ? total : null,
      lag: { position: 100, headPosition: 103, lagEvents: 3 }
    }
  })
}

async function setup(size = 1000, methods: Record<string, (input?: never) => Promise<unknown>> = {}) {
  const requests: PageRequest[] = []
  let rows = size
  const page = fakePager(() => rows, requests)
  const fake = fakeClient({
    projections: {
      list: async () => [projectionStatus('order_summary', { tables: [{ name: 'orders', sqlName: 'rm_order_summary_orders', rows: size }] })],
      describe: async () => ({ descriptor: projectionDescriptor('order_summary'), status: projectionStatus('order_summary', { tables: [{ name: 'orders', sqlName: 'x', rows: size }] }) }),
      page: page as never,
      ...methods
    }
  })
  installFakeClient(fake)
  const projections = useProjectionsStore()
  await projections.open()
  await projections.describe('order_summary')
  const grid = useReadModelGridStore()
  await grid.choose('order_summary', 'orders')
  await settle()
  return { fake, grid, page, requests, grow: (n: number) => (rows = n) }
}

/** Scrolls the view to show rows first..first+40 and waits for the reads it starts. */
async function scrollTo(grid: ReturnType<typeof useReadModelGridStore>, first: number) {
  grid.ensure(first, first + 40)
  await settle(4)
}

describe('filters as typed', () => {
  it('parses equality, comparisons, ranges, contains, any-of and null', () => {
    expect(parseFilter('', 'text')).toBeNull()
    expect(parseFilter('paid', 'text')).toEqual({ filter: 'paid' })
    expect(parseFilter('42', 'integer')).toEqual({ filter: 42 })
    expect(parseFilter('=42', 'text')).toEqual({ filter: { eq: '42' } })
    expect(parseFilter('!= paid', 'text')).toEqual({ filter: { ne: 'paid' } })
    expect(parseFilter('>100', 'integer')).toEqual({ filter: { gt: 100 } })
    expect(parseFilter('>= 1.5', 'real')).toEqual({ filter: { gte: 1.5 } })
    expect(parseFilter('<5', 'integer')).toEqual({ filter: { lt: 5 } })
    expect(parseFilter('<=5', 'integer')).toEqual({ filter: { lte: 5 } })
    expect(parseFilter('10..20', 'integer')).toEqual({ filter: { gte: 10, lte: 20 } })
    expect(parseFilter('2025-01-01..2025-01-31', 'text')).toEqual({ filter: { gte: '2025-01-01', lte: '2025-01-31' } })
    expect(parseFilter('~Ber', 'text')).toEqual({ filter: { contains: 'Ber' } })
    expect(parseFilter('paid | shipped', 'text')).toEqual({ filter: { in: ['paid', 'shipped'] } })
    expect(parseFilter('1|2', 'integer')).toEqual({ filter: { in: [1, 2] } })
    expect(parseFilter('null', 'integer')).toEqual({ filter: null })
    expect(parseFilter('{"a":1}', 'json')).toEqual({ filter: { a: 1 } })
  })

  it('refuses what a column cannot hold', () => {
    expect(parseFilter('>abc', 'integer')).toEqual({ error: '"abc" is not a number' })
    expect(parseFilter('1.5', 'integer')).toEqual({ error: '"1.5" is not a whole number' })
    expect(parseFilter('~', 'text')).toEqual({ error: 'Type what the value contains after ~' })
  })
})

describe('helpers', () => {
  it('sorts by the first column of the key and of each index only', () => {
    expect(sortableColumns(projectionDescriptor('p').tables.orders)).toEqual(['orderId', 'status', 'placedAt'])
    expect(sortableColumns({ columns: { a: 'text', b: 'text' }, key: ['a', 'b'], indexes: [['a']] })).toEqual(['a'])
    expect(sortableColumns(null)).toEqual([])
  })

  it('links a row to the event that last wrote it', () => {
    expect(rowEvent({ _stream: 'order-1', _position: 7 })).toEqual({ stream: 'order-1', position: 7 })
    expect(rowEvent({ _stream: null, _position: 7 })).toBeNull()
    expect(rowEvent(null)).toBeNull()
  })

  it('drops the pages farthest from the view', () => {
    expect(pagesToDrop([0, 1, 2], 1, 3)).toEqual([])
    expect(pagesToDrop([0, 1, 2, 3, 4, 5], 5, 4)).toEqual([0, 1])
    expect(pagesToDrop([0, 1, 2, 3, 4], 0, 3)).toEqual([4, 3])
  })
})

describe('keyset paging in the grid', () => {
  it('reads the first page with the total, and the lag', async () => {
    const { grid, requests } = await setup(1000)
    expect(requests[0]).toMatchObject({ projection: 'order_summary', table: 'orders', orderBy: 'orderId', direction: 'asc', after: null, limit: PAGE_SIZE, withTotal: true, where: {} })
    expect(grid.rowCount).toBe(PAGE_SIZE)
    expect(grid.total).toBe(1000)
    expect(grid.totalShown).toBe(1000)
    expect(grid.hasMore).toBe(true)
    expect(grid.rowAt(0)?.orderId).toBe('o-0000000')
    expect(grid.lag).toEqual({ position: 100, headPosition: 103, lagEvents: 3 })
    expect(grid.shownColumns.map((c) => c.name)).toEqual(['orderId', 'status', 'totalCents', 'placedAt', 'tags'])
    expect(grid.sortable).toEqual(['orderId', 'status', 'placedAt'])
  })

  it('reads the next page after the last row as the view nears the end, each page once, in order', async () => {
    const { grid, requests } = await setup(1000)
    await scrollTo(grid, 150)
    expect(grid.rowCount).toBe(400)
    expect(requests[1].after).toBe(JSON.stringify(['o-0000199', 'o-0000199']))
    expect(requests[1].withTotal).toBe(false)
    for (let first = 150; first < 1000; first += 100) await scrollTo(grid, first)
    expect(grid.rowCount).toBe(1000)
    expect(grid.hasMore).toBe(false)
    expect(grid.rowAt(999)?.orderId).toBe('o-0000999')
    expect(requests).toHaveLength(5)
  })

  it('stays at a few thousand rows held while scrolling a million, and reads dropped pages again when scrolled back', async () => {
    const { grid, requests } = await setup(1_000_000)
    expect(grid.totalShown).toBe(1_000_000)
    const pages = MAX_HELD_PAGES + 8
    for (let first = 0; first < pages * PAGE_SIZE; first += 120) {
      await scrollTo(grid, first)
      expect(grid.held.size).toBeLessThanOrEqual(MAX_HELD_PAGES)
    }
    expect(grid.rowCount).toBeGreaterThanOrEqual(pages * PAGE_SIZE)
    expect(grid.heldRows).toBeLessThanOrEqual(MAX_HELD_PAGES * PAGE_SIZE)
    // Every row read is the row at its index: no row skipped or repeated across pages.
    const last = pages * PAGE_SIZE - 1
    expect(grid.rowAt(last)?.orderId).toBe(`o-${String(last).padStart(7, '0')}`)
    expect(grid.rowAt(0)).toBeNull()
    const before = requests.length
    await scrollTo(grid, 10)
    expect(requests.length).toBe(before + 1)
    expect(requests[requests.length - 1].after).toBeNull()
    expect(grid.rowAt(10)?.orderId).toBe('o-0000010')
    expect(grid.rowCount).toBeGreaterThanOrEqual(pages * PAGE_SIZE)
  })

  it('sorts by indexed columns only, the other way on a second click', async () => {
    const { grid, requests } = await setup(500)
    expect(await grid.sortBy('totalCents')).toBe(false)
    expect(grid.error).toBe('totalCents is not indexed, so the table cannot be sorted by it: sort by orderId, status, placedAt')
    expect(requests).toHaveLength(1)
    await grid.sortBy('placedAt')
    expect(requests[1]).toMatchObject({ orderBy: 'placedAt', direction: 'asc', after: null, withTotal: true })
    await grid.sortBy('placedAt')
    expect(requests[2]).toMatchObject({ orderBy: 'placedAt', direction: 'desc' })
    expect(grid.rowAt(0)?.placedAt).toBe(499)
    expect(grid.error).toBeNull()
  })

  it('filters by column, with the total of what matches', async () => {
    const { grid, requests } = await setup(600)
    await grid.setFilter('status', 'paid')
    expect(requests[1].where).toEqual({ status: 'paid' })
    expect(grid.total).toBe(200)
    expect(grid.filtered).toBe(true)
    expect(grid.totalShown).toBe(200)
    await grid.setFilter('totalCents', '>900')
    expect(requests[2].where).toEqual({ status: 'paid', totalCents: { gt: 900 } })
    // A filter that does not parse is shown as such and changes nothing.
    await grid.setFilter('placedAt', '>soon')
    expect(grid.filterErrors).toEqual({ placedAt: '"soon" is not a number' })
    expect(requests).toHaveLength(3)
    await grid.clearFilters()
    expect(requests[3].where).toEqual({})
    expect(grid.filtered).toBe(false)
  })

  it('drops the answer to a read of an older query', async () => {
    let release: () => void = () => {}
    const { grid, page } = await setup(500)
    const real = page.getMockImplementation()!
    page.mockImplementationOnce(async (input) => {
      await new Promise<void>((r) => (release = r))
      return real(input)
    })
    const sorting = grid.sortBy('status')
    const later = grid.sortBy('placedAt')
    release()
    await Promise.all([sorting, later])
    await settle()
    expect(grid.sortColumn).toBe('placedAt')
    expect(grid.rowAt(0)?.placedAt).toBe(0)
  })

  it('reads the rows in view again when the projection moves on', async () => {
    const { fake, grid, requests, grow } = await setup(200)
    vi.useFakeTimers()
    expect(grid.hasMore).toBe(false)
    grow(260)
    fake.emit('projections', 'status', projectionStatus('order_summary', { position: 160, headPosition: 160, tables: [{ name: 'orders', sqlName: 'x', rows: 260 }] }))
    await vi.advanceTimersByTimeAsync(300)
    expect(requests.length).toBe(2)
    expect(requests[1].after).toBeNull()
    // The last page read had room for more: the grid can go on.
    expect(grid.hasMore).toBe(true)
    expect(grid.totalShown).toBe(260)
    grid.ensure(150, 199)
    await vi.advanceTimersByTimeAsync(10)
    expect(grid.rowCount).toBe(260)
  })

  it('says why a page could not be read', async () => {
    const { grid } = await setup(10, { page: () => Promise.reject(new RpcError('NotFound', 'Projection order_summary has no table orders')) })
    expect(grid.error).toBe('Could not read order_summary.orders: Projection order_summary has no table orders')
    expect(grid.rowCount).toBe(0)
  })
})
