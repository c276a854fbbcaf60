/**
 * Event store benchmark: our SqliteEventStore against a raw better-sqlite3 table (the floor) and Emmett-SQLite
 * (the TypeScript peer, both ways of connecting), on the same workload in the same run. Never two systems at once:
 * within a phase they take turns chunk by chunk, so a change in the machine's load hits all of them alike.
 *
 *   npm run bench                        full scale: 1,000,000 + 50,000 events
 *   npm run bench -- --scale 0.1         a tenth (also ESW_BENCH_SCALE=0.1)
 *   npm run bench -- --only ours,raw     a subset (ours, raw, emmett-shared, emmett-per-op)
 *   npm run bench -- --phase-budget 120  scale a peer's append phase down when it would take longer (s; default 300)
 *
 * Prints every figure, the ratios against the targets and a Markdown table, also written to
 * test-results/bench/store.md (and the raw figures to store.json). Timing never sets the exit code.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { EmmettSystem, loadEmmett, type EmmettPeer } from './emmett'
import {
  MEASURES,
  TARGETS,
  cpuFigure,
  figure,
  formatFigure,
  formatRatio,
  ratio,
  storeSource,
  verdict,
  type AppendFigures,
  type Measure,
  type SystemFigures
} from './report'
import { OursSystem, RawSystem, type BenchSystem } from './systems'
import { EVENTS_PER_BATCH, Fold, READ_ALL_PAGE, batchCall, batchStreamId, prng, singleCall, workload, type BenchEvent, type Workload } from './workload'

type SystemKey = 'ours' | 'raw' | 'emmett-shared' | 'emmett-per-op'
const ALL_SYSTEMS: SystemKey[] = ['ours', 'raw', 'emmett-shared', 'emmett-per-op']

interface Options {
  scale: number
  only: SystemKey[]
  phaseBudgetS: number
  keep: boolean
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag)
    if (i >= 0) return argv[i + 1]
    const inline = argv.find((a) => a.startsWith(`${flag}=`))
    return inline?.slice(flag.length + 1)
  }
  const scale = Number(value('--scale') ?? process.env.ESW_BENCH_SCALE ?? 1)
  if (!(scale > 0 && scale <= 1)) throw new Error(`--scale must be in (0, 1], got ${value('--scale') ?? process.env.ESW_BENCH_SCALE}`)
  const onlyText = value('--only') ?? process.env.ESW_BENCH_ONLY
  const only = onlyText ? (onlyText.split(',').map((s) => s.trim()) as SystemKey[]) : ALL_SYSTEMS
  for (const s of only) if (!ALL_SYSTEMS.includes(s)) throw new Error(`--only: unknown system ${s} (one of ${ALL_SYSTEMS.join(', ')})`)
  const phaseBudgetS = Number(value('--phase-budget') ?? process.env.ESW_BENCH_PHASE_BUDGET ?? 300)
  return { scale, only, phaseBudgetS, keep: argv.includes('--keep') }
}

const now = () => process.hrtime.bigint()
const cpuNow = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}
const seconds = (ns: bigint) => Number(ns) / 1e9
const gc = () => (globalThis as { gc?: () => void }).gc?.()
const log = (text: string) => process.stdout.write(`${text}\n`)
const n = (x: number) => Math.round(x).toLocaleString('en-US')
const load = () => loadavg()[0].toFixed(2)

type Call = { streamId: string; events: BenchEvent[]; expectedVersion: number }

interface Entry {
  key: SystemKey
  system: BenchSystem
  fig: SystemFigures
  file: string
}

const isPeer = (e: Entry) => e.key.startsWith('emmett')

/**
 * Runs the systems in turns of one chunk each (never two at once), so that a change in the machine's load while
 * the phase runs hits every system alike; the figures add up each system's own chunks.
 */
async function inTurns<S>(entries: Entry[], init: (e: Entry) => S, turn: (e: Entry, state: S) => Promise<boolean>): Promise<Map<Entry, S>> {
  const states = new Map(entries.map((e) => [e, init(e)] as const))
  let active = [...entries]
  while (active.length > 0) {
    const next: Entry[] = []
    for (const e of active) if (await turn(e, states.get(e)!)) next.push(e)
    active = next
  }
  return states
}

interface AppendState {
  target: number
  done: number
  wall: bigint
  cpu: number
  events: number
  scaledNote: string | null
}

/**
 * `planned` append calls per system, in chunks of 2% taken in turns. A chunk's events are built first, then its
 * calls are timed together (wall clock and process CPU time), so building events and reading clocks stay out of
 * the figures. A peer may be scaled down: after its first chunk the full phase is projected, and when that
 * exceeds the budget only a fraction of the calls runs (throughput per operation stays comparable).
 */
async function appendPhase(entries: Entry[], planned: number, callAt: (i: number) => Call, budgetS: number): Promise<Map<Entry, AppendFigures>> {
  const chunk = Math.max(1, Math.min(1000, Math.ceil(planned / 50)))
  const states = await inTurns<AppendState>(
    entries,
    () => ({ target: planned, done: 0, wall: 0n, cpu: 0, events: 0, scaledNote: null }),
    async (e, st) => {
      const calls: Call[] = []
      for (let i = st.done; i < Math.min(st.done + chunk, st.target); i++) calls.push(callAt(i))
      gc()
      const c0 = cpuNow()
      const t0 = now()
      for (const call of calls) await e.system.append(call.streamId, call.events, call.expectedVersion)
      st.wall += now() - t0
      st.cpu += cpuNow() - c0
      for (const call of calls) st.events += call.events.length
      if (isPeer(e) && st.done === 0 && chunk < planned) {
        const projected = (seconds(st.wall) / calls.length) * planned
        if (projected > budgetS) {
          const fraction = [0.5, 0.25, 0.1, 0.05, 0.02, 0.01].find((f) => projected * f <= budgetS) ?? 0.01
          st.target = Math.max(chunk, Math.round(planned * fraction))
          st.scaledNote = `projected ${projected.toFixed(0)} s for all ${n(planned)} calls (budget ${budgetS} s): ran ${n(st.target)} calls (${fraction * 100}%)`
        }
      }
      st.done += calls.length
      return st.done < st.target
    }
  )
  return new Map(
    [...states].map(([e, st]) => [
      e,
      { plannedCalls: planned, calls: st.done, events: st.events, seconds: seconds(st.wall), cpuSeconds: st.cpu, scaledNote: st.scaledNote }
    ])
  )
}

async function readPhase(entries: Entry[], reads: number): Promise<void> {
  const chunk = Math.max(1, Math.ceil(reads / 20))
  const states = await inTurns(
    entries,
    (e) => {
      // The same random streams for every system (among the streams each wrote in (a)).
      const pick = prng(4242)
      const streams = e.fig.a!.calls
      const ids = Array.from({ length: reads }, () => batchStreamId(Math.floor(pick() * streams)))
      return { ids, done: 0, warm: false, times: new Float64Array(reads), cpu: 0 }
    },
    async (e, st) => {
      if (!st.warm) {
        const pick = prng(99)
        for (let i = 0; i < Math.min(200, chunk); i++) await e.system.readStream(batchStreamId(Math.floor(pick() * e.fig.a!.calls)))
        st.warm = true
      }
      const end = Math.min(st.done + chunk, reads)
      const c0 = cpuNow()
      for (let i = st.done; i < end; i++) {
        const t0 = now()
        const count = await e.system.readStream(st.ids[i])
        st.times[i] = Number(now() - t0) / 1e6
        if (count !== EVENTS_PER_BATCH) throw new Error(`${e.key}: read ${count} events from ${st.ids[i]}, expected ${EVENTS_PER_BATCH}`)
      }
      st.cpu += cpuNow() - c0
      st.done = end
      return st.done < reads
    }
  )
  for (const [e, st] of states) {
    const times = st.times.sort()
    e.fig.c = {
      reads,
      meanMs: times.reduce((sum, t) => sum + t, 0) / reads,
      p50Ms: times[Math.floor(reads * 0.5)],
      p99Ms: times[Math.min(reads - 1, Math.floor(reads * 0.99))],
      cpuMsPerRead: (st.cpu * 1000) / reads
    }
  }
}

/** Every phase runs the systems in turns, chunk by chunk, never two at once. */
async function runAll(entries: Entry[], w: Workload, budgetS: number): Promise<void> {
  log(`\n== (a) batch append: ${n(w.batchStreams)} calls of ${EVENTS_PER_BATCH} events, each creating a stream (expected version 0)`)
  for (const [e, a] of await appendPhase(entries, w.batchStreams, batchCall, budgetS)) {
    e.fig.a = a
    log(
      `  ${e.key.padEnd(14)} ${n(a.calls)} calls in ${a.seconds.toFixed(2)} s → ${n(a.events / a.seconds).padStart(9)} events/s (${n(a.calls / a.seconds)} calls/s; ` +
        `CPU ${n(a.events / a.cpuSeconds)} events/s)${a.scaledNote ? `  [SCALED DOWN: ${a.scaledNote}]` : ''}`
    )
  }
  log(`  (load ${load()})`)

  log(`\n== (b) single-event append: ${n(w.singleCalls)} calls round-robin over ${n(w.singleStreams)} streams, exact expected version`)
  for (const [e, b] of await appendPhase(entries, w.singleCalls, (i) => singleCall(i, w.singleStreams), budgetS)) {
    e.fig.b = b
    log(
      `  ${e.key.padEnd(14)} ${n(b.calls)} calls in ${b.seconds.toFixed(2)} s → ${n(b.calls / b.seconds).padStart(9)} appends/s (CPU ${n(b.calls / b.cpuSeconds)} appends/s)` +
        `${b.scaledNote ? `  [SCALED DOWN: ${b.scaledNote}]` : ''}`
    )
  }
  log(`  (load ${load()})`)

  log(`\n== (c) read one stream of ${EVENTS_PER_BATCH} events: ${n(w.reads)} reads of random streams (after a warm-up)`)
  await readPhase(entries, w.reads)
  for (const e of entries) {
    const c = e.fig.c!
    log(`  ${e.key.padEnd(14)} mean ${c.meanMs.toFixed(3)} ms, p50 ${c.p50Ms.toFixed(3)} ms, p99 ${c.p99Ms.toFixed(3)} ms (CPU ${c.cpuMsPerRead.toFixed(3)} ms/read)`)
  }
  log(`  (load ${load()})`)

  log(`\n== (d) read all in global order (pages of ${READ_ALL_PAGE}), fold: count per type + sum of amount`)
  const PAGES_PER_TURN = 25
  const folds = await inTurns(
    entries,
    (e) => ({ cursor: e.system.readAll(), fold: new Fold(), wall: 0n, cpu: 0 }),
    async (_e, st) => {
      gc()
      let more = true
      const c0 = cpuNow()
      const t0 = now()
      for (let i = 0; i < PAGES_PER_TURN && more; i++) more = await st.cursor.step(st.fold)
      st.wall += now() - t0
      st.cpu += cpuNow() - c0
      return more
    }
  )
  for (const [e, st] of folds) {
    const stored = e.fig.a!.events + e.fig.b!.events
    if (st.fold.events !== stored) throw new Error(`${e.key}: read-all folded ${st.fold.events} events, ${stored} were appended`)
    e.fig.d = { events: st.fold.events, seconds: seconds(st.wall), cpuSeconds: st.cpu, fold: st.fold.summary() }
    log(`  ${e.key.padEnd(14)} ${n(st.fold.events)} events in ${seconds(st.wall).toFixed(2)} s → ${n(st.fold.events / seconds(st.wall)).padStart(9)} events/s (CPU ${n(st.fold.events / st.cpu)} events/s)`)
    log(`  ${''.padEnd(14)} fold: ${e.fig.d.fold}`)
  }
  log(`  (load ${load()})`)

  log(`\n== (e) bytes on disk: database + WAL after a TRUNCATE checkpoint, per stored event`)
  for (const e of entries) {
    const stored = e.fig.a!.events + e.fig.b!.events
    const bytes = await e.system.bytesOnDisk()
    e.fig.e = { bytes, events: stored }
    log(`  ${e.key.padEnd(14)} ${n(bytes)} bytes for ${n(stored)} events → ${(bytes / stored).toFixed(1)} bytes/event`)
  }
}

function comparison(results: Map<SystemKey, SystemFigures>): string[] {
  const ours = results.get('ours')
  const raw = results.get('raw')
  const shared = results.get('emmett-shared')
  const perOp = results.get('emmett-per-op')
  const lines: string[] = []
  for (const m of MEASURES) {
    const o = figure(ours, m.id)
    const parts = [`${m.title} [${m.unit}]: ours ${formatFigure(o, m.id)}, raw ${formatFigure(figure(raw, m.id), m.id)}`]
    if (shared) parts.push(`Emmett shared ${formatFigure(figure(shared, m.id), m.id)}`)
    if (perOp) parts.push(`Emmett per-op ${formatFigure(figure(perOp, m.id), m.id)}`)
    lines.push(parts.join(', '))
    const rr = ratio(o, figure(raw, m.id))
    const r: string[] = [`    ours/raw ${formatRatio(rr)} ${verdict(rr, TARGETS[m.id].raw)}`]
    if (shared) {
      const rs = ratio(o, figure(shared, m.id))
      r.push(`ours/Emmett shared ${formatRatio(rs)} ${verdict(rs, TARGETS[m.id].emmett)}`.trimEnd())
    }
    if (perOp) {
      const rp = ratio(o, figure(perOp, m.id))
      r.push(`ours/Emmett per-op ${formatRatio(rp)} ${verdict(rp, TARGETS[m.id].emmett)}`.trimEnd())
    }
    lines.push(r.join('; '))
    if (m.id !== 'e') {
      const c: string[] = [`    by CPU time instead: ours/raw ${formatRatio(ratio(cpuFigure(ours, m.id), cpuFigure(raw, m.id)))}`]
      if (shared) c.push(`ours/Emmett shared ${formatRatio(ratio(cpuFigure(ours, m.id), cpuFigure(shared, m.id)))}`)
      if (perOp) c.push(`ours/Emmett per-op ${formatRatio(ratio(cpuFigure(ours, m.id), cpuFigure(perOp, m.id)))}`)
      lines.push(c.join('; '))
    }
  }
  return lines
}

function cell(r: number | null, target: { op: '>=' | '<='; value: number } | undefined): string {
  if (r === null) return 'n/a'
  if (!target) return formatRatio(r)
  const met = target.op === '>=' ? r >= target.value : r <= target.value
  return `${formatRatio(r)} (${target.op === '>=' ? '≥' : '≤'} ${target.value}×) ${met ? '✅' : '❌'}`
}

function markdown(results: Map<SystemKey, SystemFigures>, w: Workload, env: { emmett: EmmettPeer | null; sqlite: string; date: string; load: string; source: string }): string {
  const ours = results.get('ours')
  const raw = results.get('raw')
  const shared = results.get('emmett-shared')
  const perOp = results.get('emmett-per-op')
  const events = w.batchStreams * EVENTS_PER_BATCH + w.singleCalls
  const out: string[] = []
  out.push(`### Event store benchmark`)
  out.push('')
  out.push(
    `${n(w.batchStreams * EVENTS_PER_BATCH)} events of ~250 bytes of JSON in ${n(w.batchStreams)} streams, then ${n(w.singleCalls)} single-event appends ` +
      `(${n(events)} events in all; scale ${w.scale}). ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, ` +
      `SQLite ${env.sqlite} (better-sqlite3)${env.emmett ? `, Emmett-SQLite ${env.emmett.version} on node-sqlite3 (SQLite ${env.emmett.sqliteVersion})` : ''}; ${env.date}, ${env.load}. ` +
      `Wall-clock figures; in each phase the systems take turns chunk by chunk, never two at once. Store source: ${env.source}. Produced by \`npm run bench\`.`
  )
  out.push('')
  const header = ['Measure', 'Event Workbench', 'raw better-sqlite3', 'Emmett, shared conn.', 'Emmett, conn. per op', 'ours / raw (target)', 'ours / Emmett shared', 'ours / Emmett per op']
  out.push(`| ${header.join(' | ')} |`)
  out.push(`| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`)
  for (const m of MEASURES) {
    const o = figure(ours, m.id)
    const mark = (s: SystemFigures | undefined, id: Measure) => (s && ((id === 'a' && s.a?.scaledNote) || (id === 'b' && s.b?.scaledNote)) ? ' ¹' : '')
    out.push(
      `| ${m.title}, ${m.unit} | ${formatFigure(o, m.id)} | ${formatFigure(figure(raw, m.id), m.id)} | ` +
        `${shared ? formatFigure(figure(shared, m.id), m.id) + mark(shared, m.id) : 'not run'} | ${perOp ? formatFigure(figure(perOp, m.id), m.id) + mark(perOp, m.id) : 'not run'} | ` +
        `${cell(ratio(o, figure(raw, m.id)), TARGETS[m.id].raw)} | ${shared ? cell(ratio(o, figure(shared, m.id)), TARGETS[m.id].emmett) : 'n/a'} | ` +
        `${perOp ? cell(ratio(o, figure(perOp, m.id)), TARGETS[m.id].emmett) : 'n/a'} |`
    )
  }
  out.push('')
  out.push(
    'Ratios are ours ÷ theirs of the figure in the row: for (a), (b), (d) higher is better; for (c) and (e) lower is better. ' +
      '(c) is the mean over random streams (each 100 events, JSON-parsed). ' +
      'Raw: one table with the same columns and pragmas (WAL, synchronous=NORMAL), UNIQUE(stream_id, version), append = SELECT max(version) + INSERTs in one IMMEDIATE transaction. ' +
      'Emmett "conn. per op" is `getSQLiteEventStore({ fileName })`, its default (a connection opened and closed per operation, synchronous=FULL); ' +
      '"shared conn." passes one connection through `connectionOptions` (its fast mode), set to synchronous=NORMAL like ours. Emmett (d) uses `readMessagesBatch`, 1,000 per page.'
  )
  const byCpu = MEASURES.filter((m) => m.id !== 'e').map((m) => `${m.title.slice(0, 3)} ${formatRatio(ratio(cpuFigure(ours, m.id), cpuFigure(raw, m.id)))}`)
  out.push('')
  out.push(`The same ratios ours ÷ raw from process CPU time instead of wall-clock time (less moved by other load on the machine): ${byCpu.join(', ')}.`)
  const footnotes: string[] = []
  for (const s of [shared, perOp]) {
    if (!s) continue
    if (s.a?.scaledNote) footnotes.push(`${s.label}, (a): ${s.a.scaledNote}`)
    if (s.b?.scaledNote) footnotes.push(`${s.label}, (b): ${s.b.scaledNote}`)
  }
  if (footnotes.length) {
    out.push('')
    out.push(`¹ Scaled down, throughput per operation: ${footnotes.join('; ')}.`)
  }
  const notes = [...results.values()].flatMap((s) => s.notes)
  if (notes.length) {
    out.push('')
    out.push(notes.map((t) => `${t}.`).join(' '))
  }
  return out.join('\n') + '\n'
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  const root = process.env.ESW_BENCH_ROOT ?? process.cwd()
  const w = workload(options.scale)
  const probe = new Database(':memory:')
  const sqliteVersion = (probe.prepare('SELECT sqlite_version()').pluck().get() as string) ?? '?'
  probe.close()

  let emmett: EmmettPeer | null = null
  const emmettWanted = options.only.some((s) => s.startsWith('emmett'))
  if (emmettWanted) {
    const loaded = loadEmmett(root)
    if ('error' in loaded) log(`Emmett-SQLite is skipped: ${loaded.error}`)
    else emmett = loaded
  }

  const dir = mkdtempSync(join(tmpdir(), 'esw-bench-'))
  const loadBefore = load()
  log(
    `Event store benchmark, scale ${options.scale}: ${n(w.batchStreams)} streams × ${EVENTS_PER_BATCH} events, ${n(w.singleCalls)} single appends over ${n(w.singleStreams)} streams, ` +
      `${n(w.reads)} stream reads; data in ${dir}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`
  )
  const results = new Map<SystemKey, SystemFigures>()
  const entries: Entry[] = []
  try {
    for (const key of options.only) {
      const file = join(dir, `${key}.db`)
      let system: BenchSystem
      if (key === 'ours') system = new OursSystem(file)
      else if (key === 'raw') system = new RawSystem(file)
      else if (emmett) system = await EmmettSystem.open(emmett.module, file, key === 'emmett-shared' ? 'shared' : 'per-op')
      else continue
      entries.push({ key, system, file, fig: { key, label: system.label, notes: [] } })
      log(`  ${key.padEnd(14)} ${system.label}`)
    }
    const started = Date.now()
    await runAll(entries, w, options.phaseBudgetS)
    log(`\n(all phases: ${((Date.now() - started) / 1000).toFixed(0)} s; store source: ${storeSource(root)})`)
  } finally {
    for (const e of entries) {
      await e.system.close()
      e.fig.notes.push(...e.system.notes())
      results.set(e.key, e.fig)
    }
    if (!options.keep) rmSync(dir, { recursive: true, force: true })
    else log(`kept ${dir}`)
  }

  const ours = results.get('ours')
  const raw = results.get('raw')
  if (ours && raw && ours.d && raw.d && ours.d.fold !== raw.d.fold) log(`WARNING: the folds differ:\n  ours ${ours.d.fold}\n  raw  ${raw.d.fold}`)

  log('\n== Comparison (ours ÷ theirs; (c) and (e) are times and sizes: lower is better)')
  for (const line of comparison(results)) log(line)
  const notes = [...results.values()].flatMap((s) => [
    ...(s.a?.scaledNote ? [`${s.label} (a) scaled down: ${s.a.scaledNote}`] : []),
    ...(s.b?.scaledNote ? [`${s.label} (b) scaled down: ${s.b.scaledNote}`] : []),
    ...s.notes
  ])
  for (const note of notes) log(`note: ${note}`)

  const md = markdown(results, w, {
    emmett,
    sqlite: sqliteVersion,
    date: new Date().toISOString().slice(0, 10),
    load: `1-minute load average ${loadBefore} at the start and ${load()} at the end`,
    source: storeSource(root)
  })
  const outDir = join(root, 'test-results', 'bench')
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'store.md'), md)
  writeFileSync(join(outDir, 'store.json'), JSON.stringify({ workload: w, results: Object.fromEntries(results) }, null, 2) + '\n')
  log(`\n${md}`)
  log(`(written to ${join('test-results', 'bench', 'store.md')} and store.json)`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
