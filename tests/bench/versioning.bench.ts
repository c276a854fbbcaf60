/**
 * Versioning benchmark: a full replay of 1,000,000 events (10,000 wallets of 100 events) through a decider, where
 * half of the events are stored as v1 and need a two-step upcast (v1 → v2 → v3) on the way, against the same replay
 * of the same log stored entirely as v3 with no upcasters. Both run the replay job's code (an in-thread sandbox
 * context, the streams folded in large batches).
 * Run: node tests/bench/run.js versioning [--scale 0.1] [--rounds 3]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { replayJob } from '../../main/jobs/replay-job'
import { sandboxPrelude } from '../../main/sandbox/prelude'
import { SqliteEventStore } from '../../main/store/sqlite-store'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const scale = arg('--scale', 1)
const rounds = arg('--rounds', 3)
const STREAMS = Math.max(1, Math.round(10_000 * scale))
const PER_STREAM = 100

const decider = `import { defineDecider, z } from 'workbench'
export default defineDecider<{ cents: number; deposits: number }>({
  name: 'wallets',
  streamPrefix: 'wallet',
  commands: { Noop: z.object({ id: z.string() }) },
  initialState: () => ({ cents: 0, deposits: 0 }),
  evolve: (s, e) => (e.type === 'Deposited' ? { cents: s.cents + (e.data as { cents: number }).cents, deposits: s.deposits + 1 } : s),
  decide: () => []
})
`
const v1toV2 = `import { defineUpcaster } from 'workbench'
export default defineUpcaster({ eventType: 'Deposited', fromVersion: 1, toVersion: 2, upcast: ({ amount, ...rest }) => ({ ...rest, cents: Math.round(Number(amount) * 100) }) })
`
const v2toV3 = `import { defineUpcaster } from 'workbench'
export default defineUpcaster({ eventType: 'Deposited', fromVersion: 2, toVersion: 3, upcast: (data) => ({ ...data, currency: 'EUR' }) })
`

function workspace(name: string, upcast: boolean): { dir: string; db: string } {
  const dir = join(mkdtempSync(join(tmpdir(), 'esw-bench-versioning-')), name)
  mkdirSync(join(dir, 'domain'), { recursive: true })
  writeFileSync(join(dir, 'domain', 'wallets.ts'), decider)
  if (upcast) {
    mkdirSync(join(dir, 'upcasters'), { recursive: true })
    writeFileSync(join(dir, 'upcasters', 'v1-v2.ts'), v1toV2)
    writeFileSync(join(dir, 'upcasters', 'v2-v3.ts'), v2toV3)
  }
  const db = join(dir, 'events.db')
  const store = new SqliteEventStore(db)
  for (let s = 0; s < STREAMS; s++) {
    const events = Array.from({ length: PER_STREAM }, (_, i) => {
      const cents = 100 + ((s * 7 + i) % 5000)
      const note = `deposit ${i} of wallet ${s}`
      // Every other event as the oldest shape (a string of units), the rest as the newest.
      return upcast && i % 2 === 0
        ? { type: 'Deposited', schemaVersion: 1, data: { wallet: `w-${s}`, amount: (cents / 100).toFixed(2), note } }
        : { type: 'Deposited', schemaVersion: 3, data: { wallet: `w-${s}`, cents, note, currency: 'EUR' } }
    })
    store.appendSync(`wallet-${s}`, events, 'any')
  }
  void store.close()
  return { dir, db }
}

async function replay(w: { dir: string; db: string }): Promise<{ seconds: number; events: number }> {
  const started = process.hrtime.bigint()
  const result = await replayJob({ dbFile: w.db, dir: w.dir, prelude: sandboxPrelude() }, {})
  if (result.failures.length) throw new Error(`replay failed: ${result.failures[0].streamId}: ${result.failures[0].message}`)
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, events: result.events }
}

async function main() {
  const t = Date.now()
  const upcast = workspace('upcast', true)
  const plain = workspace('plain', false)
  console.error(`seeded 2 × ${STREAMS * PER_STREAM} events in ${((Date.now() - t) / 1000).toFixed(1)} s`)
  const runs: { upcast: number[]; plain: number[] } = { upcast: [], plain: [] }
  let events = 0
  for (let r = 0; r < rounds; r++) {
    // Alternate, so load on the machine falls on both.
    const p = await replay(plain)
    const u = await replay(upcast)
    if (p.events !== u.events) throw new Error(`replays folded ${p.events} and ${u.events} events`)
    events = u.events
    runs.plain.push(events / p.seconds)
    runs.upcast.push(events / u.seconds)
    console.error(`round ${r + 1}: no upcasting ${Math.round(events / p.seconds)} events/s, half upcast twice ${Math.round(events / u.seconds)} events/s`)
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const withUpcast = median(runs.upcast)
  const without = median(runs.plain)
  const ratio = withUpcast / without
  const figures = { events, rounds, withUpcastEventsPerSecond: Math.round(withUpcast), withoutEventsPerSecond: Math.round(without), ratio: Number(ratio.toFixed(2)), target: 0.7 }
  console.log(`Full replay of ${events.toLocaleString('en')} events, half stored as v1 and upcast v1 → v2 → v3`)
  console.log(`  with upcasting:    ${figures.withUpcastEventsPerSecond.toLocaleString('en')} events/s (median of ${rounds})`)
  console.log(`  without (all v3):  ${figures.withoutEventsPerSecond.toLocaleString('en')} events/s`)
  console.log(`  ratio: ${ratio.toFixed(2)}× (target ≥ 0.7×) ${ratio >= 0.7 ? 'met' : 'NOT met'}`)
  const out = join(process.env.ESW_BENCH_ROOT ?? process.cwd(), 'test-results', 'bench')
  mkdirSync(out, { recursive: true })
  writeFileSync(join(out, 'versioning.json'), JSON.stringify(figures, null, 2))
  for (const w of [upcast, plain]) rmSync(join(w.dir, '..'), { recursive: true, force: true })
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
