import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { exportEvents, importEvents } from './ndjson'
import { SqliteEventStore } from './sqlite-store'

let dir: string
const open = (name: string) => new SqliteEventStore(join(dir, `${name}.db`))
const stores: SqliteEventStore[] = []
const fresh = (name: string) => {
  const s = open(name)
  stores.push(s)
  return s
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'esw-ndjson-'))
})
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
  rmSync(dir, { recursive: true, force: true })
})

async function exportText(store: SqliteEventStore, filter = {}): Promise<string> {
  let text = ''
  await exportEvents(store, filter, (chunk) => {
    text += chunk
  })
  return text
}

async function seed(store: SqliteEventStore) {
  for (let i = 0; i < 50; i++) {
    await store.appendToStream(`order-${i % 7}`, [
      { type: 'OrderPlaced', data: { i, total: i * 1.5, note: 'ü → ✓' }, metadata: { correlationId: `c-${i % 3}` } },
      { type: 'ItemAdded', data: { sku: `sku-${i}`, qty: i % 4 }, schemaVersion: 2 }
    ])
  }
  await store.appendToStream('cart-1', [{ type: 'CartOpened', data: {} }])
}

const lines = (text: string) => text.split('\n').filter(Boolean)
const countEvents = async (store: SqliteEventStore) => (await store.stats()).events

describe('NDJSON export and import', () => {
  it('writes one event per line with the documented fields', async () => {
    const store = fresh('a')
    await seed(store)
    const first = JSON.parse(lines(await exportText(store))[0])
    expect(Object.keys(first)).toEqual(['position', 'streamId', 'version', 'type', 'schemaVersion', 'id', 'data', 'metadata', 'recordedAt'])
    expect(first).toMatchObject({ position: 1, streamId: 'order-0', version: 1, type: 'OrderPlaced', schemaVersion: 1, metadata: { correlationId: 'c-0' } })
    expect(first.recordedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  })

  it('export → import into an empty store → export gives identical bytes', async () => {
    const source = fresh('source')
    await seed(source)
    const text = await exportText(source)
    const target = fresh('target')
    const result = await importEvents(target, lines(text))
    expect(result).toMatchObject({ events: 101, mode: 'restore', skipped: 0 })
    expect(await exportText(target)).toBe(text)
    expect(await target.listStreams()).toEqual(await source.listStreams())
  })

  it('exports with filters', async () => {
    const store = fresh('a')
    await seed(store)
    expect(lines(await exportText(store, { category: 'cart' }))).toHaveLength(1)
    expect(lines(await exportText(store, { types: ['ItemAdded'] }))).toHaveLength(50)
    expect(lines(await exportText(store, { streamId: 'order-3' })).map((l) => JSON.parse(l).version)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1))
    expect(lines(await exportText(store, { fromPosition: 10, toPosition: 19 })).map((l) => JSON.parse(l).position)).toEqual(Array.from({ length: 10 }, (_, i) => i + 10))
  })

  it('reports progress and can be cancelled', async () => {
    const store = fresh('a')
    await seed(store)
    const seen: Array<[number, number | null]> = []
    await exportEvents(store, {}, () => {}, { onProgress: (d, t) => seen.push([d, t]) })
    expect(seen.at(-1)).toEqual([101, 101])
    await expect(exportEvents(store, {}, () => {}, { isCancelled: () => true })).rejects.toMatchObject({ code: 'Cancelled' })
  })

  it('appends per stream with version checks into a non-empty store, and skips what is already there', async () => {
    const source = fresh('source')
    await seed(source)
    const text = await exportText(source, { streamId: 'order-1' })
    const target = fresh('target')
    await target.appendToStream('other-1', [{ type: 'X', data: {} }])
    expect(await importEvents(target, lines(text))).toMatchObject({ events: 14, mode: 'append' })
    const page = await target.readStream('order-1')
    expect(page.events.map((e) => e.version)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1))
    expect(page.events[0].position).toBe(2)
    expect(await importEvents(target, lines(text))).toMatchObject({ events: 0, skipped: 14 })
    expect(await countEvents(target)).toBe(15)
  })

  describe('all or nothing', () => {
    const good = async () => {
      const source = fresh('source')
      await seed(source)
      return lines(await exportText(source))
    }
    const expectRefused = async (input: string[], line: number, pattern: RegExp) => {
      const target = fresh(`t${Math.random()}`)
      await target.appendToStream('keep-1', [{ type: 'Kept', data: {} }])
      const before = await exportText(target)
      const attempt = importEvents(target, input)
      await expect(attempt).rejects.toMatchObject({ code: 'InvalidInput', details: { line } })
      await expect(importEvents(target, input)).rejects.toThrow(pattern)
      expect(await exportText(target)).toBe(before)
      expect((await target.listStreams()).total).toBe(1)
    }

    it('refuses a line that is not JSON, naming the line', async () => {
      const input = await good()
      input[60] = '{"position": 61, oops'
      await expectRefused(input, 61, /Line 61: not valid JSON/)
    })

    it('refuses a missing type', async () => {
      const input = await good()
      const o = JSON.parse(input[40])
      delete o.type
      input[40] = JSON.stringify(o)
      await expectRefused(input, 41, /Line 41: missing field type/)
    })

    it('refuses data that is not an object', async () => {
      const input = await good()
      input[10] = JSON.stringify({ ...JSON.parse(input[10]), data: [1, 2] })
      await expectRefused(input, 11, /Line 11: data must be a JSON object/)
    })

    it('refuses an invalid stream id', async () => {
      const input = await good()
      input[5] = JSON.stringify({ ...JSON.parse(input[5]), streamId: 'bad\u0001id' })
      await expectRefused(input, 6, /Line 6: .*stream id/)
    })

    it('refuses a version that does not follow', async () => {
      const input = await good()
      const o = JSON.parse(input[90])
      input[90] = JSON.stringify({ ...o, version: o.version + 5 })
      await expectRefused(input, 91, /Line 91: version \d+ of stream order-\d does not follow/)
    })

    it('refuses an oversize event', async () => {
      const input = await good()
      input[20] = JSON.stringify({ ...JSON.parse(input[20]), data: { big: 'x'.repeat(4 * 1024 * 1024 + 1) } })
      await expectRefused(input, 21, /Line 21: the event is larger/)
    })

    it('leaves an empty store empty when the last line is bad', async () => {
      const input = await good()
      input.push('not json')
      const target = fresh('empty')
      await expect(importEvents(target, input)).rejects.toThrow(/Line 102/)
      expect(await target.headPosition()).toBe(0)
      expect((await target.listStreams()).total).toBe(0)
    })
  })
})
