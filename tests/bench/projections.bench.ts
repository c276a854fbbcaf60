/**
 * Projection benchmarks:
 *  - a rebuild over 1,000,000 events writing one upsert per event, through the sandbox (what a rebuild job does:
 *    an in-thread sandbox context and the projection engine), against the same handler run as a plain in-process
 *    loop writing with the same prepared statements;
 *  - a page of the resulting 1,000,000-row table fetched through the read-model API (keyset), against the bare SQL
 *    query for that page.
 * Run: node tests/bench/run.js projections [--scale 0.1]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inThreadRunner } from '../../main/cqrs/runner'
import { describeFile } from '../../main/projections/descriptors'
import { ProjectionEngine } from '../../main/projections/engine'
import { readPage } from '../../main/projections/read-models'
import { TableAccess, createTables, ensureCheckpoints, writeCheckpoint } from '../../main/projections/tables'
import { SandboxContext } from '../../main/sandbox/context'
import { sandboxPrelude } from '../../main/sandbox/prelude'
import { SqliteEventStore } from '../../main/store/sqlite-store'
import { loadPlain } from './plain-module'

const root = process.env.ESW_BENCH_ROOT ?? process.cwd()
const scaleArg = process.argv.indexOf('--scale')
const scale = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : 1
const EVENTS = Math.round(1_000_000 * scale)
const BATCH = 2000

const source = `import { defineProjection } from 'workbench'
export default defineProjection({
  name: 'bench',
  from: { eventTypes: ['ItemPriced'] },
  tables: { items: { columns: { id: 'text', sku: 'text', priceCents: 'integer', cart: 'text' }, key: ['id'], indexes: [['sku']] } },
  handlers: {
    ItemPriced(event, ctx) {
      const d = event.data as { line: string; sku: string; priceCents: number }
      ctx.upsert('items', { id: d.line, sku: d.sku, priceCents: d.priceCents, cart: event.streamId })
    }
  }
})
`

type Handler = (event: { type: string; data: Record<string, unknown>; streamId: string }, ctx: { upsert(table: string, row: Record<string, unknown>): void }) => void

function plainHandlers(): Record<string, Handler> {
  return loadPlain<{ handlers: Record<string, Handler> }>(root, 'bench.ts', source).handlers
}

async function seed(store: SqliteEventStore) {
  const started = Date.now()
  for (let s = 0; s < EVENTS / 100; s++) {
    const events = Array.from({ length: 100 }, (_, i) => ({
      type: 'ItemPriced',
      data: { line: `l-${String(s).padStart(6, '0')}-${String(i).padStart(3, '0')}`, sku: `sku-${(s * 7 + i) % 997}`, priceCents: 100 + ((s + i) % 5000), note: 'x'.repeat(120) }
    }))
    store.appendSync(`cart-${s}`, events, 'any')
  }
  console.error(`seeded ${EVENTS} events in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'esw-bench-proj-'))
  const store = new SqliteEventStore(join(dir, 'events.db'))
  await seed(store)
  const context = new SandboxContext(sandboxPrelude())
  if (!context.load('projections/bench.ts', source).ok) throw new Error('the bench projection did not load')
  const descriptor = describeFile(context, 'projections/bench.ts')[0]

  // Sandbox: the projection engine over an in-thread context, as in a rebuild job.
  let t = process.hrtime.bigint()
  await new ProjectionEngine(store, inThreadRunner(context), descriptor, { batchSize: BATCH }).runToHead()
  const sandboxSeconds = Number(process.hrtime.bigint() - t) / 1e9
  const rows = (store.db.prepare('SELECT count(*) AS n FROM rm_bench_items').get() as { n: number }).n
  if (rows !== EVENTS) throw new Error(`expected ${EVENTS} rows, got ${rows}`)
  console.error(`sandbox rebuild: ${sandboxSeconds.toFixed(2)} s`)

  // Plain: the same handler in-process, the same prepared statements, a transaction and checkpoint per batch.
  const handlers = plainHandlers()
  store.db.exec('DROP TABLE IF EXISTS rm_plain_items')
  const plainDescriptor = { ...descriptor, name: 'plain' }
  createTables(store.db, plainDescriptor)
  ensureCheckpoints(store.db)
  const access = new TableAccess(store.db, plainDescriptor.tables.items, 'rm_plain_items')
  t = process.hrtime.bigint()
  let from: number | null = 1
  while (from !== null) {
    const page = store.readAllRawSync({ filter: { types: ['ItemPriced'] }, from, limit: BATCH })
    store.writeTransaction(() => {
      for (const r of page.rows) {
        const event = { type: r.type, data: JSON.parse(r.data) as Record<string, unknown>, streamId: r.stream_id }
        handlers[event.type](event, { upsert: (_table, row) => access.upsert(row, r.position, r.stream_id) })
      }
      const last = page.rows.at(-1)
      if (last) writeCheckpoint(store.db, { projection: 'plain', position: last.position, status: 'running', error: null, schema: null })
    })
    from = page.next
  }
  const plainSeconds = Number(process.hrtime.bigint() - t) / 1e9
  console.error(`plain rebuild: ${plainSeconds.toFixed(2)} s`)

  // Grid pages: 300 consecutive keyset pages of 200 rows through the read-model API vs the bare query.
  const lag = { position: 0, headPosition: 0, lagEvents: 0 }
  const pages = 300
  let apiMs = 0
  let after: string | null = null
  for (let i = 0; i < pages; i++) {
    const s = process.hrtime.bigint()
    const page: ReturnType<typeof readPage> = readPage(store.db, descriptor, { table: 'items', orderBy: 'id', direction: 'asc', where: {}, after, limit: 200, withTotal: false, shadow: false } as Parameters<typeof readPage>[2], lag)
    apiMs += Number(process.hrtime.bigint() - s) / 1e6
    after = page.next
  }
  const bare = store.db.prepare('SELECT * FROM rm_bench_items WHERE id > ? ORDER BY id LIMIT 200')
  let bareMs = 0
  let lastId = ''
  for (let i = 0; i < pages; i++) {
    const s = process.hrtime.bigint()
    const page = bare.all(lastId) as Array<{ id: string }>
    bareMs += Number(process.hrtime.bigint() - s) / 1e6
    lastId = page.at(-1)!.id
  }
  await store.close()
  rmSync(dir, { recursive: true, force: true })

  const ratio = plainSeconds / sandboxSeconds
  console.log(`\n| measure | ours | plain / bare SQL | ratio | target |\n|---|---|---|---|---|`)
  console.log(`| Rebuild over ${EVENTS.toLocaleString('en')} events, one upsert each, through the sandbox vs a plain loop | ${Math.round(EVENTS / sandboxSeconds).toLocaleString('en')} events/s | ${Math.round(EVENTS / plainSeconds).toLocaleString('en')} events/s | ${ratio.toFixed(2)}× | ≥ 0.5× (aim 0.7×) |`)
  console.log(`| A 200-row grid page of the ${EVENTS.toLocaleString('en')}-row table (mean of ${pages} keyset pages) | ${(apiMs / pages).toFixed(3)} ms | ${(bareMs / pages).toFixed(3)} ms | ${(apiMs / bareMs).toFixed(2)}× the time | ≤ 2× |`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
