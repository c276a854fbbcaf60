import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { SqliteEventStore } from './sqlite-store'
import { bytesToUuid, positionalIdBytes } from './uuid'

// With the random part of made ids fixed, a given id can equal the id the store would make for a coming event:
// the store must notice (the id index does not hold made ids) and give that event a plain UUIDv7 instead.
function fixed(ids: Buffer | null): Buffer | null {
  for (let o = 0; ids && o < ids.length; o += 17) {
    ids[o + 11] &= 0xfc
    ids.fill(0, o + 12, o + 16)
  }
  return ids
}

vi.mock('./uuid', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./uuid')>()
  return {
    ...actual,
    positionalIds: (time: number, firstPosition: number, count: number) => fixed(actual.positionalIds(time, firstPosition, count)),
    positionalIdBytes: (time: number, position: number) => fixed(actual.positionalIds(time, position, 1))
  }
})

let dir: string
let store: SqliteEventStore
const time = 1_750_000_000_000
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'esw-ids-'))
  store = new SqliteEventStore(join(dir, 'events.db'), { now: () => time })
})
afterEach(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

it('a given id equal to the id an append would make for its event: that event gets another id', async () => {
  await store.appendToStream('s-1', [{ type: 'A', data: {} }])
  const taken = bytesToUuid(positionalIdBytes(time, 3)!)
  await store.appendToStream('s-2', [{ type: 'G', data: {}, id: taken }])
  await store.appendToStream('s-3', [{ type: 'M', data: {} }, { type: 'N', data: {} }])
  const all = (await store.readAll({ limit: 10 })).events
  expect(all.map((e) => e.position)).toEqual([1, 2, 3, 4])
  expect(all[1].id).toBe(taken)
  expect(all[2].id).not.toBe(taken)
  expect(all[3].id).toBe(bytesToUuid(positionalIdBytes(time, 4)!))
  expect(new Set(all.map((e) => e.id)).size).toBe(4)
  for (const e of all) expect(await store.readEvent({ id: e.id })).toEqual(e)
})

it('given ids of one append that equal ids it would make for its own later events', async () => {
  await store.appendToStream('s-1', [{ type: 'A', data: {} }])
  const later = bytesToUuid(positionalIdBytes(time, 3)!)
  // Event 0 (position 2) is given the id position 3 would get; event 1 (position 3) gets another.
  await store.appendToStream('s-2', [{ type: 'G', data: {}, id: later }, { type: 'M', data: {} }])
  const all = (await store.readAll({ limit: 10 })).events
  expect(all[1].id).toBe(later)
  expect(all[2].id).not.toBe(later)
  for (const e of all) expect(await store.readEvent({ id: e.id })).toEqual(e)
})
