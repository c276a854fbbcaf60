import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseStoreUrl } from '../../main/store/postgres-store'
import { pgBinaries, startPgTestServer, stopPgTestServer, type PgTestServer } from '../../main/store/postgres-test-server'
import { servedWorkbench, until, type Bench } from './support/workbenches'

// Read models of a workspace whose log lives in PostgreSQL are published to the server, next to the events.

const SCHEMA = 'shop'

/** Counts notes per stream (async), keeps the last note's data (json) and a real; an Unnoted event deletes the row. */
const noteCounts = (step = 1) => `import { defineProjection } from 'workbench'
export default defineProjection({
  name: 'note_counts',
  from: { eventTypes: ['Noted', 'Unnoted'] },
  tables: { notes: { columns: { stream: 'text', count: 'integer', last: 'json', half: 'real' }, key: ['stream'], indexes: [['count']] } },
  handlers: {
    Noted(event, ctx) {
      const row = ctx.get('notes', event.streamId) ?? { count: 0 }
      const count = row.count + ${step}
      ctx.upsert('notes', { stream: event.streamId, count, last: event.data, half: count / 2 })
    },
    Unnoted(event, ctx) {
      ctx.delete('notes', event.streamId)
    }
  }
})
`

/** One row with the number of notes, updated in the append's own transaction. */
const noteTotal = `import { defineProjection } from 'workbench'
export default defineProjection({
  name: 'note_total',
  lifecycle: 'inline',
  from: { eventTypes: ['Noted'] },
  tables: { total: { columns: { id: 'text', notes: 'integer' }, key: ['id'] } },
  handlers: {
    Noted(event, ctx) {
      const row = ctx.get('total', 'all') ?? { notes: 0 }
      ctx.upsert('total', { id: 'all', notes: row.notes + 1 })
    }
  }
})
`

/** Labels each stream; a NUL character in a label is kept by SQLite and refused by the server. */
const labels = (label: string) => `import { defineProjection } from 'workbench'
export default defineProjection({
  name: 'note_labels',
  from: { eventTypes: ['Noted'] },
  tables: { labels: { columns: { stream: 'text', label: 'text' }, key: ['stream'] } },
  handlers: {
    Noted(event, ctx) {
      ctx.upsert('labels', { stream: event.streamId, label: ${label} })
    }
  }
})
`

let server: PgTestServer | undefined
let home: string
let client: pg.Client
const benches: Bench[] = []

async function open(name: string): Promise<Bench> {
  const bench = await servedWorkbench(home, name)
  benches.push(bench)
  await bench.rpc.workspace.open({ path: join(home, `ws-${name}`), create: true, postgres: { url: server!.url, schema: SCHEMA }, password: server!.password })
  return bench
}

async function note(b: Bench, streamId: string, n: number) {
  await b.rpc.store.append({ streamId, events: Array.from({ length: n }, (_, i) => ({ type: 'Noted', data: { i } })), expectedVersion: 'any' })
}

type Rows = Record<string, unknown>[]
const byKey = (rows: Rows) => rows.sort((x, y) => (String(Object.values(x)[0]) < String(Object.values(y)[0]) ? -1 : 1))

/** The rows of a read-model table as the server holds them (json parsed, in the first column's order). */
async function serverRows(table: string): Promise<Rows> {
  return byKey((await client.query(`SELECT * FROM ${SCHEMA}.${table}`)).rows)
}

/** The same table in a workbench's working copy, in the server's shapes. */
function localRows(b: Bench, table: string, json: string[] = []): Rows {
  const rows = b.wb.workspace().store.db.prepare(`SELECT * FROM "${table}"`).all() as Rows
  return byKey(rows).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, json.includes(k) && typeof v === 'string' ? JSON.parse(v) : v])))
}

async function serverCheckpoint(projection: string): Promise<{ position: number; code: string } | undefined> {
  const found = await client.query<{ position: number; code: string }>(`SELECT position, code FROM ${SCHEMA}.projection_checkpoints WHERE projection = $1`, [projection])
  return found.rows[0]
}

/** Waits until the workbench's projection is at the log's head and the server holds what it committed. */
async function published(b: Bench, projection: string) {
  const status = await until(
    () => b.rpc.projections.describe({ projection }).then((d) => d.status),
    (s) => s.position === s.headPosition && s.server?.state === 'published' && s.server.position === s.position,
    `${projection} to be published`
  )
  expect((await serverCheckpoint(projection))?.position).toBe(status.position)
  return status
}

describe.skipIf(!pgBinaries)('read models of a PostgreSQL workspace', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    server = await startPgTestServer()
    home = mkdtempSync(join(tmpdir(), 'esw-pg-read-models-'))
    // bigint columns read as numbers, as the workbench reads them.
    client = new pg.Client({ ...parseStoreUrl(server.url).config, password: server.password, types: { getTypeParser: ((oid: number, format: 'text') => (oid === 20 ? Number : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser } })
    await client.connect()
  })
  afterAll(async () => {
    for (const b of benches) {
      b.rpc.close()
      await b.wb.close()
    }
    await client?.end()
    stopPgTestServer(server)
    rmSync(home, { recursive: true, force: true })
  })

  it('publishes each batch with its checkpoint, deletes included, and an inline projection with the append', async () => {
    const a = await open('a')
    await a.rpc.workspace.saveFile({ path: 'projections/note-counts.ts', source: noteCounts() })
    await a.rpc.workspace.saveFile({ path: 'projections/note-total.ts', source: noteTotal })
    for (let s = 1; s <= 5; s++) await note(a, `note-${s}`, s)
    await published(a, 'note_counts')
    await published(a, 'note_total')
    expect(await serverRows('rm_note_counts_notes')).toEqual(localRows(a, 'rm_note_counts_notes', ['last']))
    expect((await serverRows('rm_note_counts_notes')).map((r) => [r.stream, Number(r.count), r.half, r.last])).toEqual([
      ['note-1', 1, 0.5, { i: 0 }],
      ['note-2', 2, 1, { i: 1 }],
      ['note-3', 3, 1.5, { i: 2 }],
      ['note-4', 4, 2, { i: 3 }],
      ['note-5', 5, 2.5, { i: 4 }]
    ])
    expect((await serverRows('rm_note_total_total')).map((r) => Number(r.notes))).toEqual([15])
    // The server's tables carry the declared types and indexes.
    const types = await client.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'rm_note_counts_notes' ORDER BY ordinal_position`, [SCHEMA])
    expect(types.rows.map((r) => `${r.column_name} ${r.data_type}`)).toEqual(['stream text', 'count bigint', 'last jsonb', 'half double precision', '_position bigint', '_stream text'])
    const indexes = await client.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'rm_note_counts_notes'`, [SCHEMA])
    expect(indexes.rows.map((r) => r.indexdef).join('\n')).toContain('(count)')

    // A delete goes to the server too.
    await a.rpc.store.append({ streamId: 'note-2', events: [{ type: 'Unnoted', data: {} }], expectedVersion: 'any' })
    await published(a, 'note_counts')
    expect((await serverRows('rm_note_counts_notes')).map((r) => r.stream)).toEqual(['note-1', 'note-3', 'note-4', 'note-5'])
  })

  it("has a teammate's workbench with the same code publish into the same tables, the server's rows equal to each one's", async () => {
    const [a] = benches
    const b = await open('b')
    await b.rpc.workspace.saveFile({ path: 'projections/note-counts.ts', source: noteCounts() })
    await b.rpc.workspace.saveFile({ path: 'projections/note-total.ts', source: noteTotal })
    await published(b, 'note_counts')
    // Both write, in turns and at once; each workbench projects every event and publishes what the server lacks.
    for (let round = 0; round < 5; round++) await Promise.all([note(a, 'note-1', 3), note(b, 'note-1', 2), note(b, `note-b${round}`, 1)])
    await until(() => a.wb.workspace().store.head(), (h) => h === b.wb.workspace().store.head(), 'a and b to hold the same log')
    const [sa, sb] = [await published(a, 'note_counts'), await published(b, 'note_counts')]
    expect(sa.position).toBe(sb.position)
    const rows = await serverRows('rm_note_counts_notes')
    expect(rows).toEqual(localRows(a, 'rm_note_counts_notes', ['last']))
    expect(rows).toEqual(localRows(b, 'rm_note_counts_notes', ['last']))
    expect(Number(rows.find((r) => r.stream === 'note-1')?.count)).toBe(1 + 5 * 5)
    await published(a, 'note_total')
    await published(b, 'note_total')
    expect((await serverRows('rm_note_total_total')).map((r) => Number(r.notes))).toEqual([15 + 5 * 6])
  })

  it('publishes no rows of edited code until a rebuild, which takes the server copy over', async () => {
    const [a, b] = benches
    const before = await serverCheckpoint('note_counts')
    // An edit here: the server's copy was built by the code a and b shared, so a stops publishing it.
    await a.rpc.workspace.saveFile({ path: 'projections/note-counts.ts', source: noteCounts(10) })
    await note(b, 'note-9', 1)
    // a's rows are now old code's with new code's batches added: not published.
    const other = await until(() => a.rpc.projections.describe({ projection: 'note_counts' }).then((d) => d.status), (s) => s.server?.state === 'rebuild-needed', 'a to need a rebuild')
    expect(other.server?.error).toContain('rebuild or reset')
    await published(b, 'note_counts')
    expect((await serverCheckpoint('note_counts'))?.code).toBe(before?.code)
    expect(Number((await serverRows('rm_note_counts_notes')).find((r) => r.stream === 'note-9')?.count)).toBe(1)

    // A rebuild with a's code replaces the server's copy, whole.
    await a.rpc.projections.rebuild({ projection: 'note_counts' })
    await until(() => serverCheckpoint('note_counts'), (c) => c?.code !== before?.code, 'the rebuilt projection to reach the server')
    await published(a, 'note_counts')
    expect((await serverCheckpoint('note_counts'))?.code).not.toBe(before?.code)
    expect(await serverRows('rm_note_counts_notes')).toEqual(localRows(a, 'rm_note_counts_notes', ['last']))
    expect(Number((await serverRows('rm_note_counts_notes')).find((r) => r.stream === 'note-9')?.count)).toBe(10)
    // Now b's code is the other one: b keeps its own rows and leaves the server's alone.
    await note(a, 'note-9', 1)
    await until(() => b.rpc.projections.describe({ projection: 'note_counts' }).then((d) => d.status), (s) => s.server?.state === 'other-code', 'b to see other code on the server')
    await published(a, 'note_counts')
    expect(Number((await serverRows('rm_note_counts_notes')).find((r) => r.stream === 'note-9')?.count)).toBe(20)
  })

  it('says which value the server refuses, keeps the projection running here, and publishes once the code is fixed', async () => {
    const [a] = benches
    await a.rpc.workspace.saveFile({ path: 'projections/note-labels.ts', source: labels("'note\\u0000' + event.data.i") })
    const refused = await until(() => a.rpc.projections.describe({ projection: 'note_labels' }).then((d) => d.status), (s) => s.server?.state === 'refused', 'the refusal')
    expect(refused.server?.error).toMatch(/^Projection note_labels, table labels, column label: "note\\u0000\d+" is not storable: it holds a NUL character \(the row written by stream note-\S+ at position \d+\); the server's column is text$/)
    expect(refused.state).toBe('caught-up')
    expect(refused.tables[0].rows).toBeGreaterThan(5)
    // Nothing of it on the server (at most the empty copy published before the first batch).
    expect((await serverCheckpoint('note_labels'))?.position ?? 0).toBe(0)

    await a.rpc.workspace.saveFile({ path: 'projections/note-labels.ts', source: labels("'note ' + event.data.i") })
    await a.rpc.projections.reset({ projection: 'note_labels' })
    await published(a, 'note_labels')
    const rows = await serverRows('rm_note_labels_labels')
    expect(rows).toEqual(localRows(a, 'rm_note_labels_labels'))
    expect(rows.length).toBe(refused.tables[0].rows)
    expect(rows[0].label).toMatch(/^note \d+$/)
  })

  it('records a rebuild as built by the code its job ran, not code loaded while it ran', async () => {
    const [a] = benches
    for (const part of [0, 1]) await a.rpc.store.append({ streamId: `bulk-${part}`, events: Array.from({ length: 10_000 }, (_, i) => ({ type: 'Noted', data: { i } })), expectedVersion: 'any' })
    await published(a, 'note_total')
    const before = await serverCheckpoint('note_total')
    await a.rpc.projections.rebuild({ projection: 'note_total' })
    await a.rpc.projections.pause({ projection: 'note_total' })
    // Edited while the rebuild is held: the rebuild's rows are the code it started with.
    await a.rpc.workspace.saveFile({ path: 'projections/note-total.ts', source: noteTotal.replace('row.notes + 1', 'row.notes + 2') })
    await a.rpc.projections.resume({ projection: 'note_total' })
    const after = await until(() => a.rpc.projections.describe({ projection: 'note_total' }).then((d) => d.status), (s) => s.job === null && s.server?.state === 'rebuild-needed', 'the rebuild to end, not published')
    expect(after.position).toBe(after.headPosition)
    expect(await serverCheckpoint('note_total')).toEqual(before)
    // Rebuilt again with the code loaded now: published.
    await a.rpc.projections.rebuild({ projection: 'note_total' })
    await until(() => serverCheckpoint('note_total'), (c) => c?.code !== before?.code, 'the second rebuild to be published')
    const rows = await serverRows('rm_note_total_total')
    expect(rows).toEqual(localRows(a, 'rm_note_total_total'))
    // Every note counted twice by the code loaded now.
    expect(rows[0].notes).toBe(2 * (await a.rpc.store.stats(undefined)).eventTypes.find((t: { type: string }) => t.type === 'Noted')!.events)
  })
})
