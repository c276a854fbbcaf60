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
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { appendPhase, heading, load, loadAverages, log, parseOptions, readAllPhase, readPhase, runContext, workloadLine, writeReport, type Entry } from './driver'
import { EmmettSystem, loadEmmett, type EmmettPeer } from './emmett'
import {
  MEASURES,
  TARGETS,
  cell,
  cpuFigure,
  figure,
  formatFigure,
  formatRatio,
  n,
  ratio,
  storeSource,
  tableHead,
  verdict,
  workloadAndMachine,
  type Measure,
  type SystemFigures
} from './report'
import { OursSystem, RawSystem, type BenchSystem } from './systems'
import { batchCall, singleCall, workload, type Workload } from './workload'

type SystemKey = 'ours' | 'raw' | 'emmett-shared' | 'emmett-per-op'
const ALL_SYSTEMS: SystemKey[] = ['ours', 'raw', 'emmett-shared', 'emmett-per-op']

interface StoreEntry extends Entry<SystemKey> {
  file: string
}

const isPeer = (e: StoreEntry) => e.key.startsWith('emmett')

/** Every phase runs the systems in turns, chunk by chunk, never two at once; a peer's appends may be scaled down. */
async function runAll(entries: StoreEntry[], w: Workload, budgetS: number): Promise<void> {
  const scaleDown = { budgetS, applies: isPeer }
  log(heading.a(w))
  for (const [e, { figures: a }] of await appendPhase(entries, w.batchStreams, batchCall, { scaleDown })) {
    e.fig.a = a
    log(
      `  ${e.key.padEnd(14)} ${n(a.calls)} calls in ${a.seconds.toFixed(2)} s → ${n(a.events / a.seconds).padStart(9)} events/s (${n(a.calls / a.seconds)} calls/s; ` +
        `CPU ${n(a.events / a.cpuSeconds)} events/s)${a.scaledNote ? `  [SCALED DOWN: ${a.scaledNote}]` : ''}`
    )
  }
  log(`  (load ${load()})`)

  log(heading.b(w))
  for (const [e, { figures: b }] of await appendPhase(entries, w.singleCalls, (i) => singleCall(i, w.singleStreams), { scaleDown })) {
    e.fig.b = b
    log(
      `  ${e.key.padEnd(14)} ${n(b.calls)} calls in ${b.seconds.toFixed(2)} s → ${n(b.calls / b.seconds).padStart(9)} appends/s (CPU ${n(b.calls / b.cpuSeconds)} appends/s)` +
        `${b.scaledNote ? `  [SCALED DOWN: ${b.scaledNote}]` : ''}`
    )
  }
  log(`  (load ${load()})`)

  log(heading.c(w))
  await readPhase(entries, w.reads)
  for (const e of entries) {
    const c = e.fig.c!
    log(`  ${e.key.padEnd(14)} mean ${c.meanMs.toFixed(3)} ms, p50 ${c.p50Ms.toFixed(3)} ms, p99 ${c.p99Ms.toFixed(3)} ms (CPU ${c.cpuMsPerRead.toFixed(3)} ms/read)`)
  }
  log(`  (load ${load()})`)

  log(heading.d())
  await readAllPhase(entries, (e) => e.fig.a!.events + e.fig.b!.events)
  for (const e of entries) {
    const d = e.fig.d!
    log(`  ${e.key.padEnd(14)} ${n(d.events)} events in ${d.seconds.toFixed(2)} s → ${n(d.events / d.seconds).padStart(9)} events/s (CPU ${n(d.events / d.cpuSeconds)} events/s)`)
    log(`  ${''.padEnd(14)} fold: ${d.fold}`)
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

function markdown(results: Map<SystemKey, SystemFigures>, w: Workload, env: { emmett: EmmettPeer | null; sqlite: string; date: string; load: string; source: string }): string {
  const ours = results.get('ours')
  const raw = results.get('raw')
  const shared = results.get('emmett-shared')
  const perOp = results.get('emmett-per-op')
  const out: string[] = []
  out.push(`### Event store benchmark`)
  out.push('')
  out.push(
    workloadAndMachine(w) +
      `SQLite ${env.sqlite} (better-sqlite3)${env.emmett ? `, Emmett-SQLite ${env.emmett.version} on node-sqlite3 (SQLite ${env.emmett.sqliteVersion})` : ''}; ${env.date}, ${env.load}. ` +
      `Wall-clock figures; in each phase the systems take turns chunk by chunk, never two at once. Store source: ${env.source}. Produced by \`npm run bench\`.`
  )
  out.push('')
  const header = ['Measure', 'Event Workbench', 'raw better-sqlite3', 'Emmett, shared conn.', 'Emmett, conn. per op', 'ours / raw (target)', 'ours / Emmett shared', 'ours / Emmett per op']
  out.push(...tableHead(header))
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
  const options = parseOptions(process.argv.slice(2), ALL_SYSTEMS, 300)
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
`Event store benchmark, scale ${options.scale}: ${workloadLine(w)}; data in ${dir}; load average ${loadAverages()}`)
  const results = new Map<SystemKey, SystemFigures>()
  const entries: StoreEntry[] = []
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

  const md = markdown(results, w, { emmett, sqlite: sqliteVersion, ...runContext(loadBefore), source: storeSource(root) })
  writeReport(root, 'store', md, { workload: w, results: Object.fromEntries(results) })
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
