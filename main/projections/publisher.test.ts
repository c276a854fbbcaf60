import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import type pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { projectionDescriptor, type PublishedState } from '../../shared/contract/projections'
import type { PostgresEventStore } from '../store/postgres-store'
import { openTestStore, pgBinaries, startPgTestServer, stopPgTestServer, type PgTestServer } from '../store/postgres-test-server'
import type { Write } from './engine'
import { ReadModelPublisher } from './publisher'
import { createTables, ensureCheckpoints, readCheckpoint, schemaSignature, TableAccess, writeCheckpoint, type Row } from './tables'

// The publisher on its own: a working copy's tables written by hand (as the engine commits them), a real server.

const descriptor = projectionDescriptor.parse({
  name: 'tally',
  file: 'projections/tally.ts',
  exportName: 'default',
  description: null,
  from: 'all',
  tables: {
    counts: { columns: { k: 'text', n: 'integer', last: 'json' }, key: ['k'], indexes: [['n']] },
    pairs: { columns: { a: 'text', b: 'integer' }, key: ['a', 'b'] }
  },
  handles: ['Counted'],
  queries: []
})

/** A working copy of the projection: `count(position, key)` applies one event as the engine would. */
class Copy {
  // A file (a whole copy reads it on a connection of its own).
  readonly db = new Database(join(mkdtempSync(join(tmpdir(), 'esw-publisher-')), 'events.db'))
  private readonly counts: TableAccess
  private readonly pairs: TableAccess
  publisher: ReadModelPublisher

  constructor(
    private readonly pool: pg.Pool,
    readonly code = 'code-1'
  ) {
    // As the store keeps events.db: readers do not hold writers up.
    this.db.pragma('journal_mode = WAL')
    ensureCheckpoints(this.db)
    createTables(this.db, descriptor)
    writeCheckpoint(this.db, { projection: 'tally', position: 0, status: 'running', error: null, schema: schemaSignature(descriptor) })
    this.counts = new TableAccess(this.db, descriptor.tables.counts, 'rm_tally_counts')
    this.pairs = new TableAccess(this.db, descriptor.tables.pairs, 'rm_tally_pairs')
    this.publisher = this.start()
  }

  start(pool: pg.Pool = this.pool, options: { code?: string; maxQueue?: number } = {}): ReadModelPublisher {
    this.publisher = new ReadModelPublisher({ pool, db: this.db, settled: () => true, retryMs: 20, refusedRetryMs: 300, chunkRows: 3, maxQueue: options.maxQueue })
    this.publisher.setProjections([{ descriptor, code: options.code ?? this.code }])
    return this.publisher
  }

  position(): number {
    return readCheckpoint(this.db, 'tally')?.position ?? 0
  }

  /**
   * Commits events (position → key; a key starting with '-' deletes it; key 'nul' writes a NUL character) as one
   * batch, and tells the publisher.
   */
  commit(events: Array<[number, string]>, to = events[events.length - 1][0]): void {
    const from = this.position()
    const writes = new Map<string, Write>()
    this.db.transaction(() => {
      for (const [position, key] of events) {
        if (key.startsWith('-')) {
          const k = key.slice(1)
          this.counts.delete([k])
          writes.set(`counts${k}`, ['counts', JSON.stringify([k]), null, position, `s-${k}`])
          // A composite key deleted too.
          this.pairs.delete([k, 0])
          writes.set(`pairs${k}0`, ['pairs', JSON.stringify([k, 0]), null, position, `s-${k}`])
          continue
        }
        const last = key === 'nul' ? { note: 'a\u0000b' } : { position, tags: ['a', 'b'] }
        const row: Row = { k: key, n: ((this.counts.get([key])?.n as number | undefined) ?? 0) + 1, last }
        this.counts.upsert(row, position, `s-${key}`)
        writes.set(`counts${key}`, ['counts', JSON.stringify([key]), row, position, `s-${key}`])
        const pair: Row = { a: key, b: position % 3 }
        this.pairs.upsert(pair, position, `s-${key}`)
        writes.set(`pairs${key}${position % 3}`, ['pairs', JSON.stringify([key, position % 3]), pair, position, `s-${key}`])
      }
      writeCheckpoint(this.db, { projection: 'tally', position: to, status: 'running', error: null, schema: schemaSignature(descriptor) })
    })()
    this.publisher.committed('tally', { from, to, writes: [...writes.values()] })
  }

  rows(table: string): Row[] {
    return this.db.prepare(`SELECT * FROM rm_tally_${table} ORDER BY 1, 2`).all() as Row[]
  }
}

/** The same event stream for every copy: 40 events over 6 keys, a delete every 9th. */
const EVENTS: Array<[number, string]> = Array.from({ length: 40 }, (_, i) => [i + 1, i % 9 === 8 ? `-k${i % 6}` : `k${i % 6}`])

let server: PgTestServer | undefined
let store: PostgresEventStore
const copies: Copy[] = []

function copy(code?: string): Copy {
  const c = new Copy(store.pool, code)
  copies.push(c)
  return c
}

const byKey = (rows: Row[]) => rows.sort((x, y) => (Object.values(x).slice(0, 2).join('|') < Object.values(y).slice(0, 2).join('|') ? -1 : 1))

/** A table's rows on the server (jsonb parsed by the driver). */
async function serverRows(table: string): Promise<Row[]> {
  return byKey((await store.pool.query(`SELECT * FROM rm_tally_${table}`)).rows as Row[])
}

/** The same table in the copy, json parsed. */
function localRows(c: Copy, table: string): Row[] {
  return byKey(c.rows(table).map((r) => (typeof r.last === 'string' ? { ...r, last: JSON.parse(r.last) as unknown } : r)))
}

async function serverCheckpoint(): Promise<{ position: number; code: string } | undefined> {
  return (await store.pool.query('SELECT position, code FROM projection_checkpoints WHERE projection = $1', ['tally'])).rows[0]
}

async function settle(...list: Copy[]): Promise<void> {
  for (const c of list) await c.publisher.idle()
}

const state = (c: Copy): PublishedState['state'] | undefined => c.publisher.state('tally')?.state

type Hook = { prefix: string; run: () => void | Promise<void> }

/** The store's pool with statements that can be held up: `hooks.current` runs (once) before the first it names. */
function heldPool(hooks: { current: Hook | null }): pg.Pool {
  return {
    connect: async () => {
      const client = await store.pool.connect()
      return new Proxy(client, {
        get(target, property) {
          if (property === 'query')
            return async (sql: string, params?: unknown[]) => {
              const h = hooks.current
              if (h && typeof sql === 'string' && sql.trimStart().startsWith(h.prefix)) {
                hooks.current = null
                await h.run()
              }
              return target.query(sql, params)
            }
          const value = Reflect.get(target, property) as unknown
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
        }
      })
    }
  } as unknown as pg.Pool
}

describe.skipIf(!pgBinaries)('the read-model publisher', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    server = await startPgTestServer()
    store = await openTestStore(server)
  })
  afterEach(async () => {
    for (const c of copies.splice(0)) {
      await c.publisher.close()
      c.db.close()
      rmSync(dirname(c.db.name), { recursive: true, force: true })
    }
    await store?.pool.query('DROP TABLE IF EXISTS projection_checkpoints, rm_tally_counts, rm_tally_pairs')
  })
  afterAll(async () => {
    await store?.close()
    stopPgTestServer(server)
  })

  it('publishes batches in order, deletes and composite keys included, each with the checkpoint it reached', async () => {
    const a = copy()
    // The server has none: published whole (empty), then batch by batch.
    await settle(a)
    for (let i = 0; i < EVENTS.length; i += 7) a.commit(EVENTS.slice(i, i + 7))
    await settle(a)
    expect(await serverCheckpoint()).toEqual({ position: 40, code: 'code-1' })
    expect(await serverRows('counts')).toEqual(localRows(a, 'counts'))
    expect(await serverRows('pairs')).toEqual(localRows(a, 'pairs'))
    expect((await serverRows('counts')).length).toBeLessThan(6)
    // k5's only pair, [k5, 0], was written at positions 6, 12, 24 and 30, and deleted at 36.
    expect((await serverRows('pairs')).filter((r) => r.a === 'k5')).toEqual([])
    expect((await serverRows('pairs')).filter((r) => r.a === 'k4').map((r) => r.b)).toEqual([2])
    expect(a.publisher.state('tally')).toMatchObject({ state: 'published', position: 40, error: null, wholeCopies: 1, batches: 6, failures: 0 })
  })

  it('publishes a number in a text column as the copy holds it, by a batch and by a whole copy alike', async () => {
    const a = copy()
    await settle(a)
    const counts = new TableAccess(a.db, descriptor.tables.counts, 'rm_tally_counts')
    // SQLite prints numbers in a text column its own way (7 as 7.0, 0.1 + 0.2 as 0.3).
    const keys = [7, 0.1 + 0.2, 1e21]
    const writes: Write[] = []
    a.db.transaction(() => {
      for (const [i, k] of keys.entries()) {
        const row: Row = { k, n: i, last: null }
        counts.upsert(row, i + 1, 's-1')
        writes.push(['counts', JSON.stringify([k]), row, i + 1, 's-1'])
      }
      writeCheckpoint(a.db, { projection: 'tally', position: 3, status: 'running', error: null, schema: schemaSignature(descriptor) })
    })()
    a.publisher.committed('tally', { from: 0, to: 3, writes })
    await settle(a)
    expect(a.publisher.state('tally')).toMatchObject({ state: 'published', position: 3, batches: 1 })
    expect(localRows(a, 'counts').map((r) => r.k)).toEqual(['0.3', '1.0e+21', '7.0'])
    expect(await serverRows('counts')).toEqual(localRows(a, 'counts'))
    a.publisher.replaced('tally', true)
    await settle(a)
    expect(a.publisher.state('tally')).toMatchObject({ state: 'published', wholeCopies: 2 })
    expect(await serverRows('counts')).toEqual(localRows(a, 'counts'))
    // A delete by a number key reaches the server's row.
    a.db.transaction(() => {
      counts.delete([7])
      writeCheckpoint(a.db, { projection: 'tally', position: 4, status: 'running', error: null, schema: schemaSignature(descriptor) })
    })()
    a.publisher.committed('tally', { from: 3, to: 4, writes: [['counts', JSON.stringify([7]), null, 4, 's-1']] })
    await settle(a)
    expect(localRows(a, 'counts').map((r) => r.k)).toEqual(['0.3', '1.0e+21'])
    expect(await serverRows('counts')).toEqual(localRows(a, 'counts'))
  })

  it('counts every event once when two copies publish the same events in batches of different sizes', async () => {
    const a = copy()
    const b = copy()
    await settle(a, b)
    // Interleaved: a in 5s, b in 3s; each sees the other's batches on the server and publishes what is missing.
    let ia = 0
    let ib = 0
    while (ia < EVENTS.length || ib < EVENTS.length) {
      if (ia < EVENTS.length) a.commit(EVENTS.slice(ia, (ia += 5)))
      if (ib < EVENTS.length) b.commit(EVENTS.slice(ib, (ib += 3)))
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    await settle(a, b)
    expect((await serverCheckpoint())?.position).toBe(40)
    expect(localRows(a, 'counts')).toEqual(localRows(b, 'counts'))
    expect(await serverRows('counts')).toEqual(localRows(a, 'counts'))
    expect(await serverRows('pairs')).toEqual(localRows(a, 'pairs'))
    // Overlapping batches of the other copy are published as batches, not as whole copies.
    const [sa, sb] = [a.publisher.state('tally')!, b.publisher.state('tally')!]
    expect(sa.wholeCopies + sb.wholeCopies).toBe(1)
    // Each published range follows the last (batches of at most 5 events): at least 8 of them cover the 40 events.
    expect(sa.batches + sb.batches).toBeGreaterThanOrEqual(8)
  })

  it('publishes whole when the server lacks events before a batch', async () => {
    const a = copy()
    a.commit(EVENTS.slice(0, 20))
    await settle(a)
    // The server's copy taken back to an older state (say, a restored backup): rows and checkpoint.
    await store.pool.query('DELETE FROM rm_tally_counts')
    await store.pool.query('UPDATE projection_checkpoints SET position = 5')
    a.commit(EVENTS.slice(20, 25))
    await settle(a)
    expect((await serverCheckpoint())?.position).toBe(25)
    expect(await serverRows('counts')).toEqual(localRows(a, 'counts'))
    expect((await serverRows('counts')).length).toBeGreaterThan(3)
  })

  it('publishes whole what a stopped publisher left unpublished, and never moves the server back', async () => {
    const a = copy()
    a.commit(EVENTS.slice(0, 10))
    await settle(a)
    await a.publisher.close()
    // Committed while nothing publishes (the app was closed, or died, after the SQLite commit).
    a.commit(EVENTS.slice(10, 20))
    a.commit(EVENTS.slice(20, 30))
    expect((await serverCheckpoint())?.position).toBe(10)
    a.start()
    await settle(a)
    expect((await serverCheckpoint())?.position).toBe(30)
    expect(await serverRows('counts')).toEqual(localRows(a, 'counts'))

    // A copy behind the server waits, then goes on batch by batch once it reaches the server's position.
    const b = copy()
    b.commit(EVENTS.slice(0, 12))
    await settle(b)
    expect(b.publisher.state('tally')).toMatchObject({ state: 'waiting', position: 30 })
    expect((await serverCheckpoint())?.position).toBe(30)
    b.commit(EVENTS.slice(12, 30))
    await settle(b)
    expect(state(b)).toBe('published')
    b.commit(EVENTS.slice(30, 40))
    await settle(b)
    expect((await serverCheckpoint())?.position).toBe(40)
    expect(await serverRows('counts')).toEqual(localRows(b, 'counts'))
  })

  it('leaves the copy other code made until this copy takes it over', async () => {
    const a = copy('code-1')
    a.commit(EVENTS.slice(0, 20))
    await settle(a)
    const other = copy('code-2')
    other.commit(EVENTS.slice(0, 25))
    await settle(other)
    expect(other.publisher.state('tally')).toMatchObject({ state: 'other-code', position: 20 })
    expect(other.publisher.state('tally')?.error).toContain('rebuild or reset')
    expect(await serverCheckpoint()).toEqual({ position: 20, code: 'code-1' })
    other.publisher.replaced('tally', true)
    await settle(other)
    expect(await serverCheckpoint()).toEqual({ position: 25, code: 'code-2' })
    // Now a's code is the other one.
    a.commit(EVENTS.slice(20, 30))
    await settle(a)
    expect(state(a)).toBe('other-code')
    expect(await serverCheckpoint()).toEqual({ position: 25, code: 'code-2' })
  })

  it('tries again when the server cannot be reached, and names a value the server cannot hold', async () => {
    let refusals = 2
    const flaky = {
      connect: () => (refusals-- > 0 ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })) : store.pool.connect())
    } as unknown as pg.Pool
    const a = copy()
    await a.publisher.close()
    a.start(flaky)
    a.commit(EVENTS.slice(0, 10))
    await settle(a)
    expect(a.publisher.state('tally')).toMatchObject({ state: 'error', error: expect.stringContaining('ECONNREFUSED') })
    for (let i = 0; i < 100 && state(a) !== 'published'; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(a.publisher.state('tally')).toMatchObject({ state: 'published', position: 10, error: null })
    expect(await serverRows('counts')).toEqual(localRows(a, 'counts'))

    // A NUL in a json value: refused with where it is, nothing of the batch on the server, not tried again per commit.
    a.commit([[11, 'k1'], [12, 'nul']])
    await settle(a)
    expect(a.publisher.state('tally')?.error).toMatch(/^Projection tally, table counts, column last: .* is not storable: it holds a NUL character \(the row written by stream s-nul at position 12\); the server's column is jsonb$/)
    expect(a.publisher.state('tally')).toMatchObject({ state: 'refused', failures: 3 })
    // Commits right after a refusal are not tried (nothing of them reaches the server).
    a.commit([[13, 'k2']])
    await settle(a)
    expect(a.publisher.state('tally')).toMatchObject({ state: 'refused', failures: 3 })
    expect((await serverCheckpoint())?.position).toBe(10)
    expect(localRows(a, 'counts').find((r) => r.k === 'k1')?.n).toBe((await serverRows('counts')).find((r) => r.k === 'k1')!.n as number + 1)
    // A while later, a commit tries again: the row that was refused is gone, so the whole projection goes.
    await new Promise((resolve) => setTimeout(resolve, 350))
    a.commit([[14, '-nul']])
    await settle(a)
    expect(a.publisher.state('tally')).toMatchObject({ state: 'published', position: 14, error: null })
    expect(await serverRows('counts')).toEqual(localRows(a, 'counts'))
  })

  it('publishes again when the copy is replaced while a whole copy is on its way, and never moves the server back', async () => {
    const hooks: { current: Hook | null } = { current: null }
    const held = heldPool(hooks)

    // The copy is replaced (a rebuild promoted at the same position, other rows) after the snapshot was read.
    const a = copy()
    await a.publisher.close()
    a.commit(EVENTS.slice(0, 10))
    hooks.current = {
      prefix: 'INSERT INTO projection_checkpoints',
      run: () => {
        a.db.prepare('UPDATE rm_tally_counts SET n = n + 100').run()
        a.publisher.replaced('tally', true)
      }
    }
    a.start(held)
    await settle(a)
    expect(hooks.current).toBeNull()
    expect(await serverRows('counts')).toEqual(localRows(a, 'counts'))
    expect(a.publisher.state('tally')?.wholeCopies).toBe(2)

    // A reset here while a whole copy is being decided: the server stays where it is.
    const b = copy()
    await b.publisher.close()
    b.commit(EVENTS.slice(0, 20))
    hooks.current = {
      prefix: 'SELECT position, code, schema, tables',
      run: () => {
        b.db.prepare('DELETE FROM rm_tally_counts').run()
        writeCheckpoint(b.db, { projection: 'tally', position: 0, status: 'running', error: null, schema: schemaSignature(descriptor) })
      }
    }
    b.start(held)
    await settle(b)
    expect(hooks.current).toBeNull()
    expect(b.publisher.state('tally')).toMatchObject({ state: 'waiting', position: 10 })
    expect(await serverCheckpoint()).toEqual({ position: 10, code: 'code-1' })
    expect(await serverRows('counts')).toEqual(localRows(a, 'counts'))
  })

  it('a whole copy keeps tables of the same layout, with the grants, views and indexes others made; another layout is made anew', async () => {
    const a = copy()
    a.commit(EVENTS.slice(0, 10))
    await settle(a)
    const role = `tally_reader_${process.pid}`
    const privileged = async () => (await store.pool.query('SELECT has_table_privilege($1, $2, $3) AS ok', [role, 'rm_tally_counts', 'SELECT'])).rows[0].ok as boolean
    await store.pool.query(`CREATE ROLE ${role} NOLOGIN`)
    try {
      await store.pool.query(`GRANT SELECT ON rm_tally_counts TO ${role}`)
      await store.pool.query('CREATE VIEW tally_view AS SELECT k, n FROM rm_tally_counts')
      await store.pool.query('CREATE INDEX tally_by_stream ON rm_tally_counts (_stream)')
      const copies = a.publisher.state('tally')!.wholeCopies
      a.commit(EVENTS.slice(10, 20))
      a.publisher.replaced('tally', true)
      await settle(a)
      expect(a.publisher.state('tally')).toMatchObject({ state: 'published', position: 20, wholeCopies: copies + 1 })
      expect(await serverRows('counts')).toEqual(localRows(a, 'counts'))
      expect(await serverRows('pairs')).toEqual(localRows(a, 'pairs'))
      expect(await privileged()).toBe(true)
      const viewed = (await store.pool.query('SELECT k, n FROM tally_view ORDER BY k')).rows
      expect(viewed).toEqual(localRows(a, 'counts').map((r) => ({ k: r.k, n: r.n })).sort((x, y) => String(x.k).localeCompare(String(y.k))))
      expect((await store.pool.query("SELECT 1 FROM pg_indexes WHERE indexname = 'tally_by_stream'")).rowCount).toBe(1)

      // A table changed by hand (its key dropped) is made anew by the next whole copy; the other is still kept.
      await store.pool.query('ALTER TABLE rm_tally_pairs DROP CONSTRAINT rm_tally_pairs_pkey')
      a.publisher.replaced('tally', true)
      await settle(a)
      expect(a.publisher.state('tally')).toMatchObject({ state: 'published', wholeCopies: copies + 2 })
      expect((await store.pool.query("SELECT 1 FROM pg_indexes WHERE indexname = 'rm_tally_pairs_pkey'")).rowCount).toBe(1)
      expect(await serverRows('pairs')).toEqual(localRows(a, 'pairs'))
      expect(await privileged()).toBe(true)

      // Another layout (a column more): the table is made anew, which the view refuses, named.
      const wider = projectionDescriptor.parse({ ...descriptor, tables: { ...descriptor.tables, counts: { ...descriptor.tables.counts, columns: { ...descriptor.tables.counts.columns, extra: 'text' } } } })
      a.publisher.setProjections([{ descriptor: wider, code: 'code-1' }])
      a.publisher.replaced('tally', true)
      await settle(a)
      expect(a.publisher.state('tally')).toMatchObject({ state: 'refused' })
      expect(a.publisher.state('tally')?.error).toContain('tally_view')
      await store.pool.query('DROP VIEW tally_view')
      await new Promise((resolve) => setTimeout(resolve, 300))
      a.commit(EVENTS.slice(20, 22))
      await settle(a)
      expect(a.publisher.state('tally')).toMatchObject({ state: 'published', position: 22 })
      const columns = (await store.pool.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'rm_tally_counts'")).rows.map((r) => r.column_name as string)
      expect(columns).toContain('extra')
      expect(await privileged()).toBe(false)
    } finally {
      await store.pool.query('DROP VIEW IF EXISTS tally_view')
      await store.pool.query(`DROP OWNED BY ${role}`)
      await store.pool.query(`DROP ROLE ${role}`)
    }
  })

  it('stops on what the server refuses for good, says what, and tries again on a commit a while later', async () => {
    const a = copy()
    a.commit(EVENTS.slice(0, 10))
    await settle(a)
    // A column a service added to the table, and a view on it: the whole copy makes the table anew, which the view
    // refuses.
    await store.pool.query('ALTER TABLE rm_tally_counts ADD COLUMN note text NOT NULL DEFAULT \'x\'')
    await store.pool.query('CREATE VIEW tally_notes AS SELECT k, note FROM rm_tally_counts')
    try {
      a.publisher.replaced('tally', true)
      await settle(a)
      expect(a.publisher.state('tally')).toMatchObject({ state: 'refused', failures: 1 })
      expect(a.publisher.state('tally')?.error).toContain('view tally_notes depends on table rm_tally_counts')
      // Not tried again by itself (an unreachable server would be, after retryMs).
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(a.publisher.state('tally')?.failures).toBe(1)
    } finally {
      await store.pool.query('DROP VIEW tally_notes')
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
    a.commit(EVENTS.slice(10, 12))
    await settle(a)
    expect(a.publisher.state('tally')).toMatchObject({ state: 'published', position: 12 })
    // The table as the publisher makes it again, its rows the copy's.
    const columns = (await store.pool.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'rm_tally_counts'")).rows
    expect(columns.map((r) => r.column_name as string).sort()).toEqual(['_position', '_stream', 'k', 'last', 'n'])
    expect(await serverRows('counts')).toEqual(localRows(a, 'counts'))

    // A name longer than PostgreSQL keeps.
    const long = projectionDescriptor.parse({ ...descriptor, name: 'a_projection_with_a_rather_long_name', tables: { and_a_table_with_a_long_name_too: descriptor.tables.counts } })
    createTables(a.db, long)
    writeCheckpoint(a.db, { projection: long.name, position: 0, status: 'running', error: null, schema: schemaSignature(long) })
    a.publisher.setProjections([
      { descriptor, code: 'code-1' },
      { descriptor: long, code: 'code-1' }
    ])
    await settle(a)
    expect(a.publisher.state(long.name)).toMatchObject({ state: 'refused' })
    expect(a.publisher.state(long.name)?.error).toBe(
      'Projection a_projection_with_a_rather_long_name: the table name rm_a_projection_with_a_rather_long_name_and_a_table_with_a_long_name_too is 72 bytes and PostgreSQL names hold 63; shorten the projection\'s or the table\'s name'
    )
  })

  it("publishes no rows that other code built or added to here, until a rebuild or reset", async () => {
    // Alice rebuilt with code-2 and published at 20; Bob's rows were built by code-1 up to 25.
    const alice = copy('code-2')
    alice.commit(EVENTS.slice(0, 20))
    await settle(alice)
    const bob = copy('code-1')
    await bob.publisher.close()
    bob.commit(EVENTS.slice(0, 25))
    // Bob loads code-2 without rebuilding: his rows are not code-2's.
    bob.start(undefined, { code: 'code-2' })
    await settle(bob)
    expect(bob.publisher.state('tally')).toMatchObject({ state: 'rebuild-needed', error: expect.stringContaining('rebuild or reset') })
    bob.commit(EVENTS.slice(25, 30))
    await settle(bob)
    expect(state(bob)).toBe('rebuild-needed')
    expect(await serverCheckpoint()).toEqual({ position: 20, code: 'code-2' })
    // Rebuilt here (with code-2): published, and from then on batch by batch.
    bob.publisher.replaced('tally', true)
    await settle(bob)
    expect(await serverCheckpoint()).toEqual({ position: 30, code: 'code-2' })
    bob.commit(EVENTS.slice(30, 35))
    await settle(bob)
    expect(bob.publisher.state('tally')).toMatchObject({ state: 'published', position: 35, wholeCopies: 1, batches: 1 })

    // Code edited and put back without a rebuild: the rows hold both; still not published.
    bob.publisher.setProjections([{ descriptor, code: 'code-3' }])
    bob.commit(EVENTS.slice(35, 37))
    bob.publisher.setProjections([{ descriptor, code: 'code-2' }])
    bob.commit(EVENTS.slice(37, 40))
    await settle(bob)
    expect(state(bob)).toBe('rebuild-needed')
    expect((await serverCheckpoint())?.position).toBe(35)
  })

  it('merges batches that wait on a slow server, and keeps a take-over through a catch-up that follows it', async () => {
    const hooks: { current: Hook | null } = { current: null }
    const a = copy()
    await a.publisher.close()
    a.start(heldPool(hooks), { maxQueue: 4 })
    await settle(a)
    // The first batch's answer from the server is held while 29 more batches are committed.
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    hooks.current = { prefix: 'SELECT position, code, schema, tables', run: () => gate }
    a.commit(EVENTS.slice(0, 1))
    while (hooks.current) await new Promise((resolve) => setTimeout(resolve, 5))
    for (let i = 1; i < 30; i++) a.commit(EVENTS.slice(i, i + 1))
    release()
    await settle(a)
    expect(await serverRows('counts')).toEqual(localRows(a, 'counts'))
    expect(await serverRows('pairs')).toEqual(localRows(a, 'pairs'))
    // The held batch, then at most a merged batch per four: not 30.
    expect(a.publisher.state('tally')).toMatchObject({ state: 'published', position: 30, wholeCopies: 0 })
    expect(a.publisher.state('tally')!.batches).toBeLessThanOrEqual(5)

    // Other code on the server; a reset here, then a catch-up job's rows: the take-over stands.
    const other = copy('code-9')
    other.commit(EVENTS.slice(0, 30))
    other.publisher.replaced('tally', true)
    other.publisher.replaced('tally')
    await settle(other)
    expect(await serverCheckpoint()).toEqual({ position: 30, code: 'code-9' })
  })

  it('reads a whole copy from one snapshot, a chunk at a time, while commits go on here', async () => {
    const hooks: { current: Hook | null } = { current: null }
    const a = copy()
    await a.publisher.close()
    a.commit(EVENTS.slice(0, 20))
    // Between two chunks of the whole copy's rows (3 at a time), more batches are committed here.
    hooks.current = { prefix: 'INSERT INTO "rm_tally_counts"', run: () => a.commit(EVENTS.slice(20, 30)) }
    a.start(heldPool(hooks))
    await settle(a)
    expect(hooks.current).toBeNull()
    // The whole copy at 20, then the batch committed during it.
    expect(a.publisher.state('tally')).toMatchObject({ state: 'published', position: 30, wholeCopies: 1, batches: 1 })
    expect(await serverRows('counts')).toEqual(localRows(a, 'counts'))
    expect(await serverRows('pairs')).toEqual(localRows(a, 'pairs'))
  })
})
