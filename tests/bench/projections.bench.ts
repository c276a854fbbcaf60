/**
 * Projection benchmarks:
 *  - a rebuild over 1,000,000 events writing one upsert per event, through the sandbox (what a rebuild job does:
 *    an in-thread sandbox context and the projection engine), against the same handler run as a plain in-process
 *    loop writing with the same prepared statements;
 *  - a page of the resulting 1,000,000-row table fetched through the read-model API (keyset), against the bare SQL
 *    query for that page.
 * The two rebuilds take turns (sandbox first in odd rounds, plain first in even ones) over fresh tables each round;
 * the table reports the round with the median ratio, stderr every round. Each rebuild is also timed in this
 * process's CPU time, which other work on a busy machine disturbs far less than the clock; that ratio is printed
 * after the table. The grid pages alternate likewise.
 * Run: node tests/bench/run.js projections [--scale 0.1] [--rounds 3] [--batch 2000 (events per batch, both loops)]
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
function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const EVENTS = Math.round(1_000_000 * arg('--scale', 1))
const ROUNDS = Math.max(1, Math.round(arg('--rounds', 3)))
const BATCH = Math.round(arg('--batch', 2000))

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

interface Took {
  wall: number
  /** CPU time of this process (all its threads), which other processes on the machine disturb much less. */
  cpu: number
}

function clock(): () => Took {
  const wall = process.hrtime.bigint()
  const cpu = process.cpuUsage()
  return () => {
    const used = process.cpuUsage(cpu)
    return { wall: Number(process.hrtime.bigint() - wall) / 1e9, cpu: (used.user + used.system) / 1e6 }
  }
}

function medianIndex(values: number[]): number {
  return values.indexOf([...values].sort((a, b) => a - b)[values.length >> 1])
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'esw-bench-proj-'))
  const store = new SqliteEventStore(join(dir, 'events.db'))
  await seed(store)
  const context = new SandboxContext(sandboxPrelude())
  if (!context.load('projections/bench.ts', source).ok) throw new Error('the bench projection did not load')
  const descriptor = describeFile(context, 'projections/bench.ts')[0]

  // Sandbox: the projection engine over an in-thread context, as in a rebuild job.
  const runner = inThreadRunner(context)
  const sandboxRebuild = async () => {
    store.db.exec('DROP TABLE IF EXISTS rm_bench_items')
    ensureCheckpoints(store.db)
    store.db.prepare('DELETE FROM projection_checkpoints WHERE projection = ?').run('bench')
    const time = clock()
    await new ProjectionEngine(store, runner, descriptor, { batchSize: BATCH }).runToHead()
    const took = time()
    const rows = (store.db.prepare('SELECT count(*) AS n FROM rm_bench_items').get() as { n: number }).n
    if (rows !== EVENTS) throw new Error(`expected ${EVENTS} rows, got ${rows}`)
    return took
  }

  // Plain: the same handler in-process, the same prepared statements, a transaction and checkpoint per batch.
  const handlers = plainHandlers()
  const plainDescriptor = { ...descriptor, name: 'plain' }
  const plainRebuild = () => {
    store.db.exec('DROP TABLE IF EXISTS rm_plain_items')
    createTables(store.db, plainDescriptor)
    ensureCheckpoints(store.db)
    const access = new TableAccess(store.db, plainDescriptor.tables.items, 'rm_plain_items')
    const time = clock()
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
    return time()
  }

  const sandboxTimes: Took[] = []
  const plainTimes: Took[] = []
  const rate = (seconds: number) => `${Math.round(EVENTS / seconds).toLocaleString('en')}/s`
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 1) plainTimes.push(plainRebuild())
    sandboxTimes.push(await sandboxRebuild())
    if (round % 2 === 0) plainTimes.push(plainRebuild())
    const [s, p] = [sandboxTimes[round], plainTimes[round]]
    console.error(`round ${round + 1}: sandbox ${rate(s.wall)} (${rate(s.cpu)} of CPU time), plain ${rate(p.wall)} (${rate(p.cpu)} of CPU time), ${(p.wall / s.wall).toFixed(2)}× (${(p.cpu / s.cpu).toFixed(2)}× in CPU time)`)
  }
  // The round whose ratio is the median: both figures of a ratio come from the same round.
  const middle = medianIndex(sandboxTimes.map((s, i) => plainTimes[i].wall / s.wall))
  const sandboxSeconds = sandboxTimes[middle].wall
  const plainSeconds = plainTimes[middle].wall
  const cpuRatios = sandboxTimes.map((s, i) => plainTimes[i].cpu / s.cpu)
  const cpuRatio = cpuRatios[medianIndex(cpuRatios)]

  // Grid pages: 300 consecutive keyset pages of 200 rows through the read-model API vs the bare query, in turns.
  const lag = { position: 0, headPosition: 0, lagEvents: 0 }
  const pages = 300
  const bare = store.db.prepare('SELECT * FROM rm_bench_items WHERE id > ? ORDER BY id LIMIT 200')
  let apiMs = 0
  let bareMs = 0
  let after: string | null = null
  let lastId = ''
  const apiPage = () => {
    const s = process.hrtime.bigint()
    const page: ReturnType<typeof readPage> = readPage(store.db, descriptor, { table: 'items', orderBy: 'id', direction: 'asc', where: {}, after, limit: 200, withTotal: false, shadow: false } as Parameters<typeof readPage>[2], lag)
    apiMs += Number(process.hrtime.bigint() - s) / 1e6
    after = page.next
  }
  const barePage = () => {
    const s = process.hrtime.bigint()
    const page = bare.all(lastId) as Array<{ id: string }>
    bareMs += Number(process.hrtime.bigint() - s) / 1e6
    lastId = page.at(-1)!.id
  }
  for (let i = 0; i < pages; i++) {
    if (i % 2) barePage()
    apiPage()
    if (i % 2 === 0) barePage()
  }
  await store.close()
  rmSync(dir, { recursive: true, force: true })

  const ratio = plainSeconds / sandboxSeconds
  console.log(`\n| measure | ours | plain / bare SQL | ratio | target |\n|---|---|---|---|---|`)
  console.log(`| Rebuild over ${EVENTS.toLocaleString('en')} events, one upsert each, through the sandbox vs a plain loop (median of ${ROUNDS} rounds) | ${Math.round(EVENTS / sandboxSeconds).toLocaleString('en')} events/s | ${Math.round(EVENTS / plainSeconds).toLocaleString('en')} events/s | ${ratio.toFixed(2)}× | ≥ 0.5× (aim 0.7×) |`)
  console.log(`| A 200-row grid page of the ${EVENTS.toLocaleString('en')}-row table (mean of ${pages} keyset pages) | ${(apiMs / pages).toFixed(3)} ms | ${(bareMs / pages).toFixed(3)} ms | ${(apiMs / bareMs).toFixed(2)}× the time | ≤ 2× |`)
  console.log(`\nRebuild in CPU time (median of ${ROUNDS} rounds): ${cpuRatio.toFixed(2)}× the plain loop's rate; per round ${cpuRatios.map((r) => `${r.toFixed(2)}×`).join(', ')}.`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
