/**
 * PostgreSQL event store benchmark: our PostgresEventStore against Emmett-PostgreSQL (the TypeScript peer), on the
 * store benchmark's workload, on one throwaway PostgreSQL cluster started for the run, durable (fsync and
 * synchronous_commit on), each system in a database of its own. Never both at once: within a phase they take turns
 * chunk by chunk, so a change in the machine's load hits both alike.
 *
 *   npm run bench:postgres                        full scale: 1,000,000 events in 10,000 streams, 5,000 single appends
 *   npm run bench:postgres -- --scale 0.1         a tenth (also ESW_BENCH_SCALE=0.1)
 *   npm run bench:postgres -- --only ours         one system (ours, emmett)
 *   npm run bench:postgres -- --phase-budget 300  read a sample of a peer's pages when its full read would take longer (s; default 600)
 *
 * Prints every figure, ours ÷ Emmett against the targets and a Markdown table, also written to
 * test-results/bench/postgres.md (and the raw figures to postgres.json). Timing never sets the exit code.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import pg from 'pg'
import { PostgresEventStore } from '../../main/store/postgres-store'
import { EmmettPostgresSystem, EmmettReadAllCursor, loadEmmettPostgres, type EmmettPostgresPeer } from './emmett-postgres'
import { cpuFigure, figure, formatFigure, formatRatio, ratio, storeSource, verdict, type AppendFigures, type Measure, type SystemFigures } from './report'
import { StoreSystem, type BenchSystem, type ReadAllCursor } from './systems'
import { EVENTS_PER_BATCH, Fold, READ_ALL_PAGE, batchCall, batchStreamId, prng, singleCall, workload, type BenchEvent, type Workload } from './workload'

type SystemKey = 'ours' | 'emmett'
const ALL_SYSTEMS: SystemKey[] = ['ours', 'emmett']

/** Single-event appends at full scale: each is a durable commit, so fewer than the SQLite benchmark's 50,000. */
const FULL_SINGLE_CALLS = 5_000
/** Batch calls per system before the measured phases (streams Warmup-<n>), and stream reads. */
const WARMUP_BATCHES = 20
const WARMUP_SINGLES = 50

/** The cluster's settings: durable, and the same for both systems (they share it). */
const SERVER_SETTINGS: Record<string, string> = {
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  shared_buffers: '512MB',
  max_wal_size: '8GB',
  checkpoint_timeout: '30min'
}
const SHOWN_SETTINGS = [
  'server_version',
  ...Object.keys(SERVER_SETTINGS),
  'wal_sync_method',
  'wal_level',
  'track_commit_timestamp',
  'jit',
  'max_parallel_workers_per_gather',
  'work_mem'
]

/** Measure (a)–(d) against Emmett; (e) is printed for information. */
const MEASURES: Array<{ id: Measure; title: string; unit: string }> = [
  { id: 'a', title: '(a) batch append, 100 events/call', unit: 'events/s' },
  { id: 'b', title: '(b) single-event append', unit: 'appends/s' },
  { id: 'c', title: '(c) read one 100-event stream', unit: 'ms/read' },
  { id: 'd', title: '(d) read all + fold', unit: 'events/s' },
  { id: 'e', title: '(e) tables + indexes', unit: 'bytes/event' }
]
const TARGETS: Partial<Record<Measure, { op: '>=' | '<='; value: number }>> = {
  a: { op: '>=', value: 1.5 },
  d: { op: '>=', value: 1.5 }
}

interface Options {
  scale: number
  only: SystemKey[]
  phaseBudgetS: number
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
  const phaseBudgetS = Number(value('--phase-budget') ?? process.env.ESW_BENCH_PHASE_BUDGET ?? 600)
  return { scale, only, phaseBudgetS }
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

// ------------------------------------------------------------------ the server

interface PgServer {
  url: string
  host: string
  port: number
  user: string
  password: string
  dir: string
}

interface ServerScript {
  findBinaries(): string | null
  startServer(options: { settings?: Record<string, string>; durable?: boolean }): Promise<PgServer>
  stopServer(dir: string): void
}

/**
 * CPU time of the whole cluster (postmaster, its live children, and the children it has reaped), from /proc: the
 * server's share of the work. Only one system runs at a time, so a chunk's difference is that system's. Linux only.
 */
class ServerCpu {
  private readonly tick: number
  private readonly postmaster: number | null

  constructor(dir: string) {
    let tick = 100
    try {
      tick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      // keep 100
    }
    this.tick = tick
    let pid: number | null
    try {
      pid = Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
    } catch {
      pid = null
    }
    this.postmaster = pid && process.platform === 'linux' ? pid : null
  }

  get available(): boolean {
    return this.postmaster !== null
  }

  /** Seconds of CPU the cluster has used so far (0 where /proc is missing). */
  read(): number {
    if (this.postmaster === null) return 0
    let ticks = 0
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      let stat: string
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      } catch {
        continue
      }
      // pid (comm) state ppid ... utime(14) stime(15) cutime(16) cstime(17): fields after the comm's ')'.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const pid = Number(entry)
      const ppid = Number(f[1])
      if (pid === this.postmaster) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])
      else if (ppid === this.postmaster) ticks += Number(f[11]) + Number(f[12])
    }
    return ticks / this.tick
  }
}

async function withClient<T>(server: PgServer, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

// ------------------------------------------------------------------ the systems

/** Our PostgreSQL store through its public API (StoreSystem); its size is measured from the server. */
class OursPostgresSystem extends StoreSystem {
  readonly key = 'ours'
  readonly label = 'Event Workbench (PostgresEventStore)'
  declare readonly store: PostgresEventStore

  private constructor(store: PostgresEventStore) {
    super(store)
  }

  static async open(server: PgServer, database: string): Promise<OursPostgresSystem> {
    const store = await PostgresEventStore.open({ url: `postgres://${server.user}@${server.host}:${server.port}/${database}`, password: server.password, schema: 'esw' })
    return new OursPostgresSystem(store)
  }

  async bytesOnDisk(): Promise<number> {
    return 0
  }
}

// ------------------------------------------------------------------ the driver

type Call = { streamId: string; events: BenchEvent[]; expectedVersion: number }

interface ServerCpuFigures {
  a: number
  b: number
  c: number
  d: number
}

interface Entry {
  key: SystemKey
  system: BenchSystem
  fig: SystemFigures
  database: string
  /** The schema that holds the system's tables. */
  schema: string
  /** Events appended outside the measured phases (warm-up). */
  warmupEvents: number
  /** The cluster's CPU seconds while this system ran, per phase. */
  server: ServerCpuFigures
  /** Set when (d) read a sample of the pages; says why. */
  sampledNote: string | null
}

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

/**
 * `planned` append calls per system, in chunks of 2% taken in turns. A chunk's events are built first, then its
 * calls are timed together (wall clock, this process's CPU time and the cluster's), so building events stays out.
 */
async function appendPhase(entries: Entry[], planned: number, callAt: (i: number) => Call, cpu: ServerCpu): Promise<Map<Entry, AppendFigures & { serverCpu: number }>> {
  const chunk = Math.max(1, Math.min(1000, Math.ceil(planned / 50)))
  const states = await inTurns(
    entries,
    () => ({ done: 0, wall: 0n, cpu: 0, server: 0, events: 0 }),
    async (e, st) => {
      const calls: Call[] = []
      for (let i = st.done; i < Math.min(st.done + chunk, planned); i++) calls.push(callAt(i))
      gc()
      const s0 = cpu.read()
      const c0 = cpuNow()
      const t0 = now()
      for (const call of calls) await e.system.append(call.streamId, call.events, call.expectedVersion)
      st.wall += now() - t0
      st.cpu += cpuNow() - c0
      st.server += cpu.read() - s0
      for (const call of calls) st.events += call.events.length
      st.done += calls.length
      return st.done < planned
    }
  )
  return new Map(
    [...states].map(([e, st]) => [
      e,
      { plannedCalls: planned, calls: st.done, events: st.events, seconds: seconds(st.wall), cpuSeconds: st.cpu, scaledNote: null, serverCpu: st.server }
    ])
  )
}

async function readPhase(entries: Entry[], reads: number, cpu: ServerCpu): Promise<void> {
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
      const s0 = cpu.read()
      const c0 = cpuNow()
      for (let i = st.done; i < end; i++) {
        const t0 = now()
        const count = await e.system.readStream(st.ids[i])
        st.times[i] = Number(now() - t0) / 1e6
        if (count !== EVENTS_PER_BATCH) throw new Error(`${e.key}: read ${count} events from ${st.ids[i]}, expected ${EVENTS_PER_BATCH}`)
      }
      st.cpu += cpuNow() - c0
      e.server.c += cpu.read() - s0
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

interface ReadAllState {
  cursor: ReadAllCursor
  fold: Fold
  pagesRead: number
  wall: bigint
  cpu: number
  server: number
  stride: number
}

/**
 * (d): every event in global order, pages of READ_ALL_PAGE, folded, in turns of 25 pages. When a system's first
 * turn projects the whole read past the budget, it goes on reading an evenly spread sample of the pages (every
 * k-th), so the figure is still the mean over the whole log, and the fold check is left out for it.
 */
async function readAllPhase(entries: Entry[], total: (e: Entry) => number, budgetS: number, cpu: ServerCpu): Promise<void> {
  const PAGES_PER_TURN = 25
  for (const e of entries) {
    // Warm-up: a few pages, not timed.
    const cursor = e.system.readAll()
    const fold = new Fold()
    for (let i = 0; i < 3 && (await cursor.step(fold)); i++);
  }
  const folds = await inTurns(
    entries,
    (e) => ({ cursor: e.system.readAll(), fold: new Fold(), pagesRead: 0, wall: 0n, cpu: 0, server: 0, stride: 1 }) as ReadAllState,
    async (e, st) => {
      gc()
      let more = true
      const s0 = cpu.read()
      const c0 = cpuNow()
      const t0 = now()
      for (let i = 0; i < PAGES_PER_TURN && more; i++) {
        more = await st.cursor.step(st.fold)
        st.pagesRead++
      }
      st.wall += now() - t0
      st.cpu += cpuNow() - c0
      st.server += cpu.read() - s0
      if (more && st.pagesRead === PAGES_PER_TURN && st.cursor instanceof EmmettReadAllCursor) {
        const pages = Math.ceil(total(e) / READ_ALL_PAGE)
        const projected = (seconds(st.wall) / st.pagesRead) * pages
        if (projected > budgetS) {
          st.stride = Math.ceil(projected / budgetS)
          st.cursor.stride = st.stride
          e.sampledNote =
            `projected ${projected.toFixed(0)} s for all ${n(pages)} pages (budget ${budgetS} s): after the first ${PAGES_PER_TURN} pages, read every ${st.stride}th page ` +
            `(${READ_ALL_PAGE} events each) to the end`
        }
      }
      return more
    }
  )
  for (const [e, st] of folds) {
    if (e.sampledNote === null && st.fold.events !== total(e)) throw new Error(`${e.key}: read-all folded ${st.fold.events} events, ${total(e)} were appended`)
    e.fig.d = { events: st.fold.events, seconds: seconds(st.wall), cpuSeconds: st.cpu, fold: st.fold.summary() }
    e.server.d = st.server
  }
}

async function tableBytes(server: PgServer, e: Entry): Promise<number> {
  return withClient(server, e.database, async (client) => {
    const r = await client.query<{ bytes: string }>(
      `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
       WHERE ns.nspname = $1 AND c.relkind = 'r'`,
      [e.schema]
    )
    return Number(r.rows[0].bytes)
  })
}

async function checkpoint(server: PgServer): Promise<void> {
  await withClient(server, 'postgres', (client) => client.query('CHECKPOINT'))
}

const perEvent = (serverCpu: number, events: number) => (serverCpu > 0 ? `${((serverCpu * 1e6) / events).toFixed(1)} µs/event` : 'n/a')

async function runAll(entries: Entry[], w: Workload, server: PgServer, cpu: ServerCpu, budgetS: number): Promise<void> {
  log(`\n== warm-up: ${WARMUP_BATCHES} batch appends and ${WARMUP_SINGLES} single appends per system (streams Warmup-<n>), not timed`)
  for (const e of entries) {
    for (let i = 0; i < WARMUP_BATCHES; i++) {
      const call = batchCall(FULL_BATCH_STREAM_LIMIT + i)
      await e.system.append(`Warmup-${i}`, call.events, 0)
      e.warmupEvents += call.events.length
    }
    for (let i = 0; i < WARMUP_SINGLES; i++) {
      const call = singleCall(i, 1)
      await e.system.append('Warmup-single', call.events, i)
      e.warmupEvents++
    }
    for (let i = 0; i < WARMUP_BATCHES; i++) await e.system.readStream(`Warmup-${i}`)
  }

  await checkpoint(server)
  log(`\n== (a) batch append: ${n(w.batchStreams)} calls of ${EVENTS_PER_BATCH} events, each creating a stream (expected version 0)`)
  for (const [e, a] of await appendPhase(entries, w.batchStreams, batchCall, cpu)) {
    e.fig.a = a
    e.server.a = a.serverCpu
    log(
      `  ${e.key.padEnd(8)} ${n(a.calls)} calls in ${a.seconds.toFixed(2)} s → ${n(a.events / a.seconds).padStart(9)} events/s (${n(a.calls / a.seconds)} calls/s; ` +
        `client CPU ${((a.cpuSeconds * 1e6) / a.events).toFixed(1)} µs/event, server CPU ${perEvent(a.serverCpu, a.events)})`
    )
  }
  log(`  (load ${load()})`)

  await checkpoint(server)
  log(`\n== (b) single-event append: ${n(w.singleCalls)} calls round-robin over ${n(w.singleStreams)} streams, exact expected version`)
  for (const [e, b] of await appendPhase(entries, w.singleCalls, (i) => singleCall(i, w.singleStreams), cpu)) {
    e.fig.b = b
    e.server.b = b.serverCpu
    log(
      `  ${e.key.padEnd(8)} ${n(b.calls)} calls in ${b.seconds.toFixed(2)} s → ${n(b.calls / b.seconds).padStart(9)} appends/s (mean ${((b.seconds * 1000) / b.calls).toFixed(3)} ms; ` +
        `client CPU ${((b.cpuSeconds * 1e6) / b.calls).toFixed(1)} µs/append, server CPU ${perEvent(b.serverCpu, b.calls).replace('event', 'append')})`
    )
  }
  log(`  (load ${load()})`)

  await checkpoint(server)
  log(`\n== (c) read one stream of ${EVENTS_PER_BATCH} events: ${n(w.reads)} reads of random streams (after a warm-up)`)
  await readPhase(entries, w.reads, cpu)
  for (const e of entries) {
    const c = e.fig.c!
    log(
      `  ${e.key.padEnd(8)} mean ${c.meanMs.toFixed(3)} ms, p50 ${c.p50Ms.toFixed(3)} ms, p99 ${c.p99Ms.toFixed(3)} ms ` +
        `(client CPU ${c.cpuMsPerRead.toFixed(3)} ms/read, server CPU ${((e.server.c * 1000) / c.reads).toFixed(3)} ms/read)`
    )
  }
  log(`  (load ${load()})`)

  await checkpoint(server)
  log(`\n== (d) read all in global order (pages of ${READ_ALL_PAGE}), fold: count per type + sum of amount`)
  await readAllPhase(entries, (e) => e.fig.a!.events + e.fig.b!.events + e.warmupEvents, budgetS, cpu)
  for (const e of entries) {
    const d = e.fig.d!
    log(
      `  ${e.key.padEnd(8)} ${n(d.events)} events in ${d.seconds.toFixed(2)} s → ${n(d.events / d.seconds).padStart(9)} events/s ` +
        `(client CPU ${((d.cpuSeconds * 1e6) / d.events).toFixed(1)} µs/event, server CPU ${perEvent(e.server.d, d.events)})` +
        `${e.sampledNote ? `  [SAMPLED: ${e.sampledNote}]` : ''}`
    )
    log(`  ${''.padEnd(8)} fold: ${d.fold}`)
  }
  log(`  (load ${load()})`)

  log(`\n== (e) tables + indexes + TOAST (pg_total_relation_size of every table of the system), per stored event`)
  for (const e of entries) {
    const stored = e.fig.a!.events + e.fig.b!.events + e.warmupEvents
    const bytes = await tableBytes(server, e)
    e.fig.e = { bytes, events: stored }
    log(`  ${e.key.padEnd(8)} ${n(bytes)} bytes for ${n(stored)} events → ${(bytes / stored).toFixed(1)} bytes/event`)
  }
}

/** Warm-up streams take batch calls past any scale's Order-<n> (different events, the same shape). */
const FULL_BATCH_STREAM_LIMIT = 10_000_000

function comparison(results: Map<SystemKey, SystemFigures>): string[] {
  const ours = results.get('ours')
  const emmett = results.get('emmett')
  const lines: string[] = []
  for (const m of MEASURES) {
    const o = figure(ours, m.id)
    const t = figure(emmett, m.id)
    const r = ratio(o, t)
    lines.push(`${m.title} [${m.unit}]: ours ${formatFigure(o, m.id)}, Emmett ${formatFigure(t, m.id)} → ours/Emmett ${formatRatio(r)} ${verdict(r, TARGETS[m.id])}`.trimEnd())
    if (m.id !== 'e') lines.push(`    by client CPU time instead: ours/Emmett ${formatRatio(ratio(cpuFigure(ours, m.id), cpuFigure(emmett, m.id)))}`)
  }
  return lines
}

function cell(r: number | null, target: { op: '>=' | '<='; value: number } | undefined): string {
  if (r === null) return 'n/a'
  if (!target) return formatRatio(r)
  const met = target.op === '>=' ? r >= target.value : r <= target.value
  return `${formatRatio(r)} (${target.op === '>=' ? '≥' : '≤'} ${target.value}×) ${met ? '✅' : '❌'}`
}

interface Environment {
  pgVersion: string
  emmett: EmmettPostgresPeer | null
  emmettError: string | null
  settings: Record<string, string>
  date: string
  load: string
  source: string
}

function markdown(results: Map<SystemKey, SystemFigures>, entries: Entry[], w: Workload, env: Environment): string {
  const ours = results.get('ours')
  const emmett = results.get('emmett')
  const events = w.batchStreams * EVENTS_PER_BATCH + w.singleCalls
  const s = env.settings
  const out: string[] = []
  out.push('### PostgreSQL event store benchmark')
  out.push('')
  out.push(
    `${n(w.batchStreams * EVENTS_PER_BATCH)} events of ~250 bytes of JSON in ${n(w.batchStreams)} streams, then ${n(w.singleCalls)} single-event appends ` +
      `(${n(events)} events in all; scale ${w.scale}). ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, ` +
      `PostgreSQL ${s.server_version ?? '?'} on the same machine (one throwaway cluster for both, each system in a database of its own; ` +
      `fsync=${s.fsync}, synchronous_commit=${s.synchronous_commit}, full_page_writes=${s.full_page_writes}, wal_sync_method=${s.wal_sync_method}, ` +
      `shared_buffers=${s.shared_buffers}, max_wal_size=${s.max_wal_size}), pg ${env.pgVersion} for ours` +
      `${env.emmett ? `, Emmett-PostgreSQL with ${env.emmett.versions}` : ''}; ${env.date}, ${env.load}. ` +
      `Wall-clock figures; in each phase the systems take turns chunk by chunk, never both at once. Store source: ${env.source}. Produced by \`npm run bench:postgres\`.`
  )
  out.push('')
  const header = ['Measure', 'Event Workbench', 'Emmett-PostgreSQL', 'ours / Emmett (target)']
  out.push(`| ${header.join(' | ')} |`)
  out.push(`| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`)
  const sampled = entries.find((e) => e.key === 'emmett')?.sampledNote ?? null
  for (const m of MEASURES) {
    const o = figure(ours, m.id)
    const t = figure(emmett, m.id)
    const mark = m.id === 'd' && sampled ? ' ¹' : ''
    out.push(
      `| ${m.title}, ${m.unit} | ${formatFigure(o, m.id)} | ${emmett ? formatFigure(t, m.id) + mark : 'not measured'} | ${emmett ? cell(ratio(o, t), TARGETS[m.id]) : 'n/a'} |`
    )
  }
  out.push('')
  out.push(
    'Ratios are ours ÷ Emmett of the figure in the row: for (a), (b), (d) higher is better; for (c) and (e) lower is better. ' +
      `(b) is ${n(w.singleCalls)} calls (not the SQLite benchmark's 50,000: each is a durable commit). ` +
      '(c) is the mean over random streams (each 100 events, JSON-parsed). ' +
      "Ours: `PostgresEventStore.appendToStream` with the exact expected version, `readStream`, `readAll({ from, limit: 1000 })` page after page. " +
      "Emmett: `getPostgreSQLEventStore(connectionString)` (its default pooled connection), `appendToStream` with `expectedStreamVersion`, `readStream`, and for (d) " +
      '`readMessagesBatch` on a dumbo pool, 1,000 per page, as its consumers read the log. ' +
      "That query orders by (transaction_id, global_position) and Emmett's messages table has no index but its primary key (stream, position), " +
      "so every page is a scan and sort of the whole table: Emmett's (d) falls as the log grows, and the ratio with it. " +
      `Before the phases each system gets an untimed warm-up (${WARMUP_BATCHES} batch and ${WARMUP_SINGLES} single appends to streams of their own, and reads), ` +
      'counted in (d) and (e); a CHECKPOINT runs between phases. ' +
      '(e) is `pg_total_relation_size` of every table of the system (heap, indexes, TOAST; not the WAL).'
  )
  if (!emmett) {
    out.push('')
    out.push(`Emmett-PostgreSQL was not measured: ${env.emmettError ?? 'not selected (--only)'}.`)
  }
  const cpuLine = MEASURES.filter((m) => m.id !== 'e').map((m) => `${m.title.slice(0, 3)} ${formatRatio(ratio(cpuFigure(ours, m.id), cpuFigure(emmett, m.id)))}`)
  if (emmett) {
    out.push('')
    out.push(`The same ratios from this process's CPU time instead of wall-clock time (the client's share only): ${cpuLine.join(', ')}.`)
    const server = entries.map((e) => {
      const a = e.fig.a!
      const d = e.fig.d!
      return `${e.key === 'ours' ? 'ours' : 'Emmett'} (a) ${((e.server.a * 1e6) / a.events).toFixed(1)} µs/event, (d) ${((e.server.d * 1e6) / d.events).toFixed(1)} µs/event`
    })
    out.push(`CPU time of the PostgreSQL cluster while each system ran: ${server.join('; ')}.`)
  }
  if (sampled) {
    out.push('')
    out.push(`¹ Sampled: ${sampled}. The figure is events read ÷ time over those pages.`)
  }
  return out.join('\n') + '\n'
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  const root = process.env.ESW_BENCH_ROOT ?? process.cwd()
  const w: Workload = { ...workload(options.scale), singleCalls: Math.max(100, Math.round(FULL_SINGLE_CALLS * options.scale)) }

  const rootRequire = createRequire(join(root, 'package.json'))
  const script = rootRequire('./scripts/pg-test-server.js') as ServerScript
  const pgVersion = (rootRequire('pg/package.json') as { version: string }).version
  if (!script.findBinaries()) {
    log('PostgreSQL benchmark not run: no PostgreSQL binaries (initdb, pg_ctl, postgres) found; install postgresql or set ESW_PG_BIN')
    process.exitCode = 2
    return
  }

  let emmett: EmmettPostgresPeer | null = null
  let emmettError: string | null = null
  if (options.only.includes('emmett')) {
    const loaded = loadEmmettPostgres(root)
    if ('error' in loaded) {
      emmettError = loaded.error
      log(`EMMETT-POSTGRESQL NOT MEASURED: ${loaded.error}. Only our store runs; no Emmett figures are printed.`)
    } else emmett = loaded
  }

  log('Starting a throwaway PostgreSQL cluster (durable: fsync and synchronous_commit on)...')
  const server = await script.startServer({ durable: true, settings: SERVER_SETTINGS })
  const loadBefore = load()
  const results = new Map<SystemKey, SystemFigures>()
  const entries: Entry[] = []
  const settings: Record<string, string> = {}
  try {
    await withClient(server, 'postgres', async (client) => {
      for (const name of SHOWN_SETTINGS) settings[name] = (await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0][name]
      for (const key of options.only) await client.query(`CREATE DATABASE ${key}_bench`)
    })
    if (settings.fsync !== 'on' || settings.synchronous_commit !== 'on') throw new Error(`the cluster is not durable: fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit}`)
    const cpu = new ServerCpu(server.dir)
    log(
      `PostgreSQL benchmark, scale ${options.scale}: ${n(w.batchStreams)} streams × ${EVENTS_PER_BATCH} events, ${n(w.singleCalls)} single appends over ${n(w.singleStreams)} streams, ` +
        `${n(w.reads)} stream reads; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`
    )
    log(`  server: ${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(', ')}${cpu.available ? '' : ' (no /proc: server CPU not measured)'}`)
    for (const key of options.only) {
      const database = `${key}_bench`
      let system: BenchSystem
      let schema: string
      if (key === 'ours') {
        system = await OursPostgresSystem.open(server, database)
        schema = 'esw'
      } else if (emmett) {
        const connectionString = `postgres://${encodeURIComponent(server.user)}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/${database}`
        system = await EmmettPostgresSystem.open(emmett, connectionString)
        schema = 'public'
      } else continue
      entries.push({ key, system, database, schema, warmupEvents: 0, server: { a: 0, b: 0, c: 0, d: 0 }, sampledNote: null, fig: { key, label: system.label, notes: [] } })
      log(`  ${key.padEnd(8)} ${system.label}, database ${database}, schema ${schema}`)
    }
    if (emmett) log(`  Emmett-PostgreSQL peers: ${emmett.versions}`)
    const started = Date.now()
    await runAll(entries, w, server, cpu, options.phaseBudgetS)
    log(`\n(all phases: ${((Date.now() - started) / 1000).toFixed(0)} s; store source: ${storeSource(root)})`)
  } finally {
    for (const e of entries) {
      await e.system.close().catch((error: unknown) => log(`closing ${e.key}: ${String(error)}`))
      results.set(e.key, e.fig)
    }
    script.stopServer(server.dir)
  }

  const ours = results.get('ours')
  const peer = results.get('emmett')
  const sampled = entries.some((e) => e.sampledNote)
  if (ours?.d && peer?.d && !sampled && ours.d.fold !== peer.d.fold) log(`WARNING: the folds differ:\n  ours   ${ours.d.fold}\n  Emmett ${peer.d.fold}`)

  log('\n== Comparison (ours ÷ Emmett; (c) and (e) are times and sizes: lower is better)')
  if (!peer) log(`Emmett-PostgreSQL was NOT measured (${emmettError ?? 'not selected with --only'}): no ratios.`)
  else for (const line of comparison(results)) log(line)
  for (const e of entries) if (e.sampledNote) log(`note: ${e.fig.label} (d) sampled: ${e.sampledNote}`)

  const md = markdown(results, entries, w, {
    pgVersion,
    emmett,
    emmettError,
    settings,
    date: new Date().toISOString().slice(0, 10),
    load: `1-minute load average ${loadBefore} at the start and ${load()} at the end`,
    source: storeSource(root)
  })
  const outDir = join(root, 'test-results', 'bench')
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'postgres.md'), md)
  const serverCpu = Object.fromEntries(entries.map((e) => [e.key, e.server]))
  writeFileSync(join(outDir, 'postgres.json'), JSON.stringify({ workload: w, settings, results: Object.fromEntries(results), serverCpu }, null, 2) + '\n')
  log(`\n${md}`)
  log(`(written to ${join('test-results', 'bench', 'postgres.md')} and postgres.json)`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
