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
import { readFileSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import pg from 'pg'
import { PostgresEventStore } from '../../main/store/postgres-store'
import { appendPhase, heading, load, loadAverages, log, parseOptions, readAllPhase, readPhase, runContext, workloadLine, writeReport, type Entry, type Meter } from './driver'
import { EmmettPostgresSystem, loadEmmettPostgres, type EmmettPostgresPeer } from './emmett-postgres'
import { cell, cpuFigure, figure, formatFigure, formatRatio, n, ratio, storeSource, tableHead, verdict, workloadAndMachine, type Measure, type SystemFigures, type Target } from './report'
import { StoreSystem, type BenchSystem } from './systems'
import { batchCall, singleCall, workload, type Workload } from './workload'

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
const TARGETS: Partial<Record<Measure, Target>> = {
  a: { op: '>=', value: 1.5 },
  d: { op: '>=', value: 1.5 }
}

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
class ServerCpu implements Meter {
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

// ------------------------------------------------------------------ the run

interface ServerCpuFigures {
  a: number
  b: number
  c: number
  d: number
}

interface PostgresEntry extends Entry<SystemKey> {
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

async function tableBytes(server: PgServer, e: PostgresEntry): Promise<number> {
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

/**
 * Every phase runs the systems in turns, chunk by chunk, never both at once, with the cluster's CPU time measured
 * around each chunk; a CHECKPOINT before each phase. (d) reads a sample of a peer's pages when its whole read would
 * take longer than the budget.
 */
async function runAll(entries: PostgresEntry[], w: Workload, server: PgServer, cpu: ServerCpu, budgetS: number): Promise<void> {
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
  log(heading.a(w))
  for (const [e, { figures, metered }] of await appendPhase(entries, w.batchStreams, batchCall, { meter: cpu })) {
    const a = { ...figures, serverCpu: metered }
    e.fig.a = a
    e.server.a = a.serverCpu
    log(
      `  ${e.key.padEnd(8)} ${n(a.calls)} calls in ${a.seconds.toFixed(2)} s → ${n(a.events / a.seconds).padStart(9)} events/s (${n(a.calls / a.seconds)} calls/s; ` +
        `client CPU ${((a.cpuSeconds * 1e6) / a.events).toFixed(1)} µs/event, server CPU ${perEvent(a.serverCpu, a.events)})`
    )
  }
  log(`  (load ${load()})`)

  await checkpoint(server)
  log(heading.b(w))
  for (const [e, { figures, metered }] of await appendPhase(entries, w.singleCalls, (i) => singleCall(i, w.singleStreams), { meter: cpu })) {
    const b = { ...figures, serverCpu: metered }
    e.fig.b = b
    e.server.b = b.serverCpu
    log(
      `  ${e.key.padEnd(8)} ${n(b.calls)} calls in ${b.seconds.toFixed(2)} s → ${n(b.calls / b.seconds).padStart(9)} appends/s (mean ${((b.seconds * 1000) / b.calls).toFixed(3)} ms; ` +
        `client CPU ${((b.cpuSeconds * 1e6) / b.calls).toFixed(1)} µs/append, server CPU ${perEvent(b.serverCpu, b.calls).replace('event', 'append')})`
    )
  }
  log(`  (load ${load()})`)

  await checkpoint(server)
  log(heading.c(w))
  for (const [e, metered] of await readPhase(entries, w.reads, cpu)) e.server.c = metered
  for (const e of entries) {
    const c = e.fig.c!
    log(
      `  ${e.key.padEnd(8)} mean ${c.meanMs.toFixed(3)} ms, p50 ${c.p50Ms.toFixed(3)} ms, p99 ${c.p99Ms.toFixed(3)} ms ` +
        `(client CPU ${c.cpuMsPerRead.toFixed(3)} ms/read, server CPU ${((e.server.c * 1000) / c.reads).toFixed(3)} ms/read)`
    )
  }
  log(`  (load ${load()})`)

  await checkpoint(server)
  log(heading.d())
  const total = (e: PostgresEntry) => e.fig.a!.events + e.fig.b!.events + e.warmupEvents
  for (const [e, d] of await readAllPhase(entries, total, { meter: cpu, warmupPages: 3, sampleBudgetS: budgetS })) {
    e.server.d = d.metered
    e.sampledNote = d.sampledNote
  }
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

interface Environment {
  pgVersion: string
  emmett: EmmettPostgresPeer | null
  emmettError: string | null
  settings: Record<string, string>
  date: string
  load: string
  source: string
}

function markdown(results: Map<SystemKey, SystemFigures>, entries: PostgresEntry[], w: Workload, env: Environment): string {
  const ours = results.get('ours')
  const emmett = results.get('emmett')
  const s = env.settings
  const out: string[] = []
  out.push('### PostgreSQL event store benchmark')
  out.push('')
  out.push(
    workloadAndMachine(w) +
      `PostgreSQL ${s.server_version ?? '?'} on the same machine (one throwaway cluster for both, each system in a database of its own; ` +
      `fsync=${s.fsync}, synchronous_commit=${s.synchronous_commit}, full_page_writes=${s.full_page_writes}, wal_sync_method=${s.wal_sync_method}, ` +
      `shared_buffers=${s.shared_buffers}, max_wal_size=${s.max_wal_size}), pg ${env.pgVersion} for ours` +
      `${env.emmett ? `, Emmett-PostgreSQL with ${env.emmett.versions}` : ''}; ${env.date}, ${env.load}. ` +
      `Wall-clock figures; in each phase the systems take turns chunk by chunk, never both at once. Store source: ${env.source}. Produced by \`npm run bench:postgres\`.`
  )
  out.push('')
  const header = ['Measure', 'Event Workbench', 'Emmett-PostgreSQL', 'ours / Emmett (target)']
  out.push(...tableHead(header))
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
  const options = parseOptions(process.argv.slice(2), ALL_SYSTEMS, 600)
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
  const entries: PostgresEntry[] = []
  const settings: Record<string, string> = {}
  try {
    await withClient(server, 'postgres', async (client) => {
      for (const name of SHOWN_SETTINGS) settings[name] = (await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0][name]
      for (const key of options.only) await client.query(`CREATE DATABASE ${key}_bench`)
    })
    if (settings.fsync !== 'on' || settings.synchronous_commit !== 'on') throw new Error(`the cluster is not durable: fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit}`)
    const cpu = new ServerCpu(server.dir)
    log(`PostgreSQL benchmark, scale ${options.scale}: ${workloadLine(w)}; load average ${loadAverages()}`)
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

  const md = markdown(results, entries, w, { pgVersion, emmett, emmettError, settings, ...runContext(loadBefore), source: storeSource(root) })
  const serverCpu = Object.fromEntries(entries.map((e) => [e.key, e.server]))
  writeReport(root, 'postgres', md, { workload: w, settings, results: Object.fromEntries(results), serverCpu })
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
