/**
 * The driver both event store benchmarks share (store.bench.ts for SQLite, postgres.bench.ts for PostgreSQL):
 * their options, clocks and phases (a)–(d). In every phase the systems take turns chunk by chunk, never two at once,
 * so that a change in the machine's load hits all of them alike. Each chunk is timed by wall clock and by this
 * process's CPU time; a benchmark that measures more around a chunk (the PostgreSQL cluster's CPU time) passes a
 * Meter, read just outside those clocks.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { n, type AppendFigures, type SystemFigures } from './report'
import type { BenchSystem, ReadAllCursor } from './systems'
import { EVENTS_PER_BATCH, Fold, READ_ALL_PAGE, batchStreamId, prng, type Call, type Workload } from './workload'

// ------------------------------------------------------------------ options

export interface Options<K extends string> {
  scale: number
  only: K[]
  phaseBudgetS: number
  /** Keep the data directory (where the benchmark has one). */
  keep: boolean
}

/** --scale, --only, --phase-budget (also ESW_BENCH_SCALE, ESW_BENCH_ONLY, ESW_BENCH_PHASE_BUDGET) and --keep. */
export function parseOptions<K extends string>(argv: string[], systems: readonly K[], defaultBudgetS: number): Options<K> {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag)
    if (i >= 0) return argv[i + 1]
    const inline = argv.find((a) => a.startsWith(`${flag}=`))
    return inline?.slice(flag.length + 1)
  }
  const scale = Number(value('--scale') ?? process.env.ESW_BENCH_SCALE ?? 1)
  if (!(scale > 0 && scale <= 1)) throw new Error(`--scale must be in (0, 1], got ${value('--scale') ?? process.env.ESW_BENCH_SCALE}`)
  const onlyText = value('--only') ?? process.env.ESW_BENCH_ONLY
  const only = onlyText ? (onlyText.split(',').map((s) => s.trim()) as K[]) : [...systems]
  for (const s of only) if (!systems.includes(s)) throw new Error(`--only: unknown system ${s} (one of ${systems.join(', ')})`)
  const phaseBudgetS = Number(value('--phase-budget') ?? process.env.ESW_BENCH_PHASE_BUDGET ?? defaultBudgetS)
  return { scale, only, phaseBudgetS, keep: argv.includes('--keep') }
}

// ------------------------------------------------------------------ clocks and output

export const now = (): bigint => process.hrtime.bigint()
/** CPU time of this process (all threads), in seconds. */
export const cpuNow = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}
export const seconds = (ns: bigint): number => Number(ns) / 1e9
const gc = () => (globalThis as { gc?: () => void }).gc?.()
export const log = (text: string): void => {
  process.stdout.write(`${text}\n`)
}
/** The 1-minute load average. */
export const load = (): string => loadavg()[0].toFixed(2)
/** All three load averages. */
export const loadAverages = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')

/** The workload in the benchmark's first line. */
export const workloadLine = (w: Workload): string =>
  `${n(w.batchStreams)} streams × ${EVENTS_PER_BATCH} events, ${n(w.singleCalls)} single appends over ${n(w.singleStreams)} streams, ${n(w.reads)} stream reads`

/** The headings of phases (a)–(d), the same in both benchmarks. */
export const heading = {
  a: (w: Workload): string => `\n== (a) batch append: ${n(w.batchStreams)} calls of ${EVENTS_PER_BATCH} events, each creating a stream (expected version 0)`,
  b: (w: Workload): string => `\n== (b) single-event append: ${n(w.singleCalls)} calls round-robin over ${n(w.singleStreams)} streams, exact expected version`,
  c: (w: Workload): string => `\n== (c) read one stream of ${EVENTS_PER_BATCH} events: ${n(w.reads)} reads of random streams (after a warm-up)`,
  d: (): string => `\n== (d) read all in global order (pages of ${READ_ALL_PAGE}), fold: count per type + sum of amount`
}

/** Writes test-results/bench/<name>.md and <name>.json, then prints the Markdown and where it went. */
export function writeReport(root: string, name: string, md: string, json: unknown): void {
  const outDir = join(root, 'test-results', 'bench')
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, `${name}.md`), md)
  writeFileSync(join(outDir, `${name}.json`), JSON.stringify(json, null, 2) + '\n')
  log(`\n${md}`)
  log(`(written to ${join('test-results', 'bench', `${name}.md`)} and ${name}.json)`)
}

/** The date and the load at the start and now, as the reports state them. */
export function runContext(loadBefore: string): { date: string; load: string } {
  return { date: new Date().toISOString().slice(0, 10), load: `1-minute load average ${loadBefore} at the start and ${load()} at the end` }
}

// ------------------------------------------------------------------ the phases

/** A system in the run, with its figures; a benchmark adds what else it keeps per system. */
export interface Entry<K extends string = string> {
  key: K
  system: BenchSystem
  fig: SystemFigures
}

/**
 * Something more to measure around each timed chunk: a reading that only grows (such as a server's CPU seconds so
 * far). It is read before and after the chunk, outside the other clocks; the differences add up per system.
 */
export interface Meter {
  read(): number
}

/**
 * Runs the systems in turns of one chunk each (never two at once), so that a change in the machine's load while
 * the phase runs hits every system alike; the figures add up each system's own chunks.
 */
export async function inTurns<E, S>(entries: E[], init: (e: E) => S, turn: (e: E, state: S) => Promise<boolean>): Promise<Map<E, S>> {
  const states = new Map(entries.map((e) => [e, init(e)] as const))
  let active = [...entries]
  while (active.length > 0) {
    const next: E[] = []
    for (const e of active) if (await turn(e, states.get(e)!)) next.push(e)
    active = next
  }
  return states
}

export interface AppendOptions<E> {
  meter?: Meter
  /** Which systems may be scaled down, and past how many seconds of projected phase. */
  scaleDown?: { budgetS: number; applies: (e: E) => boolean }
}

/**
 * `planned` append calls per system, in chunks of 2% taken in turns. A chunk's events are built first, then its
 * calls are timed together (wall clock, process CPU time and the meter), so building events and reading clocks
 * stay out of the figures. With `scaleDown`, a system it applies to may run fewer calls: after its first chunk the
 * full phase is projected, and when that exceeds the budget only a fraction of the calls runs (throughput per
 * operation stays comparable).
 */
export async function appendPhase<E extends Entry>(
  entries: E[],
  planned: number,
  callAt: (i: number) => Call,
  { meter, scaleDown }: AppendOptions<E> = {}
): Promise<Map<E, { figures: AppendFigures; metered: number }>> {
  const chunk = Math.max(1, Math.min(1000, Math.ceil(planned / 50)))
  const states = await inTurns(
    entries,
    () => ({ target: planned, done: 0, wall: 0n, cpu: 0, metered: 0, events: 0, scaledNote: null as string | null }),
    async (e, st) => {
      const calls: Call[] = []
      for (let i = st.done; i < Math.min(st.done + chunk, st.target); i++) calls.push(callAt(i))
      gc()
      const m0 = meter ? meter.read() : 0
      const c0 = cpuNow()
      const t0 = now()
      for (const call of calls) await e.system.append(call.streamId, call.events, call.expectedVersion)
      st.wall += now() - t0
      st.cpu += cpuNow() - c0
      if (meter) st.metered += meter.read() - m0
      for (const call of calls) st.events += call.events.length
      if (scaleDown && scaleDown.applies(e) && st.done === 0 && chunk < planned) {
        const budgetS = scaleDown.budgetS
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
      {
        figures: { plannedCalls: planned, calls: st.done, events: st.events, seconds: seconds(st.wall), cpuSeconds: st.cpu, scaledNote: st.scaledNote },
        metered: st.metered
      }
    ])
  )
}

/**
 * (c): `reads` reads of whole streams per system, the same random Order-<n> streams for every system (among those
 * it wrote in (a)), in chunks of 5% after a warm-up; each read is timed alone. Sets each system's `fig.c` and
 * returns what the meter measured per system.
 */
export async function readPhase<E extends Entry>(entries: E[], reads: number, meter?: Meter): Promise<Map<E, number>> {
  const chunk = Math.max(1, Math.ceil(reads / 20))
  const states = await inTurns(
    entries,
    (e) => {
      // The same random streams for every system (among the streams each wrote in (a)).
      const pick = prng(4242)
      const streams = e.fig.a!.calls
      const ids = Array.from({ length: reads }, () => batchStreamId(Math.floor(pick() * streams)))
      return { ids, done: 0, warm: false, times: new Float64Array(reads), cpu: 0, metered: 0 }
    },
    async (e, st) => {
      if (!st.warm) {
        const pick = prng(99)
        for (let i = 0; i < Math.min(200, chunk); i++) await e.system.readStream(batchStreamId(Math.floor(pick() * e.fig.a!.calls)))
        st.warm = true
      }
      const end = Math.min(st.done + chunk, reads)
      const m0 = meter ? meter.read() : 0
      const c0 = cpuNow()
      for (let i = st.done; i < end; i++) {
        const t0 = now()
        const count = await e.system.readStream(st.ids[i])
        st.times[i] = Number(now() - t0) / 1e6
        if (count !== EVENTS_PER_BATCH) throw new Error(`${e.key}: read ${count} events from ${st.ids[i]}, expected ${EVENTS_PER_BATCH}`)
      }
      st.cpu += cpuNow() - c0
      if (meter) st.metered += meter.read() - m0
      st.done = end
      return st.done < reads
    }
  )
  const metered = new Map<E, number>()
  for (const [e, st] of states) {
    const times = st.times.sort()
    e.fig.c = {
      reads,
      meanMs: times.reduce((sum, t) => sum + t, 0) / reads,
      p50Ms: times[Math.floor(reads * 0.5)],
      p99Ms: times[Math.min(reads - 1, Math.floor(reads * 0.99))],
      cpuMsPerRead: (st.cpu * 1000) / reads
    }
    metered.set(e, st.metered)
  }
  return metered
}

export interface ReadAllOptions {
  meter?: Meter
  /** Pages each system reads untimed first, with a cursor of their own. */
  warmupPages?: number
  /** Lets a cursor that can skip pages (`stride`) read a sample when its whole read would take longer (seconds). */
  sampleBudgetS?: number
}

interface ReadAllState {
  cursor: ReadAllCursor
  fold: Fold
  pagesRead: number
  wall: bigint
  cpu: number
  metered: number
}

const PAGES_PER_TURN = 25

/**
 * (d): every event in global order, pages of READ_ALL_PAGE, folded, in turns of 25 pages; `total` is how many
 * events the system holds, which the fold must count. With `sampleBudgetS`, when a system's first turn projects the
 * whole read past the budget and its cursor can skip pages, it goes on reading an evenly spread sample of the pages
 * (every k-th), so the figure is still the mean over the whole log, and the fold check is left out for it. Sets
 * each system's `fig.d`; returns what the meter measured and, for a sampled read, why.
 */
export async function readAllPhase<E extends Entry>(
  entries: E[],
  total: (e: E) => number,
  { meter, warmupPages = 0, sampleBudgetS }: ReadAllOptions = {}
): Promise<Map<E, { metered: number; sampledNote: string | null }>> {
  if (warmupPages > 0) {
    for (const e of entries) {
      // Warm-up: a few pages, not timed.
      const cursor = e.system.readAll()
      const fold = new Fold()
      for (let i = 0; i < warmupPages && (await cursor.step(fold)); i++);
    }
  }
  const sampledNotes = new Map<E, string>()
  const folds = await inTurns(
    entries,
    (e): ReadAllState => ({ cursor: e.system.readAll(), fold: new Fold(), pagesRead: 0, wall: 0n, cpu: 0, metered: 0 }),
    async (e, st) => {
      gc()
      let more = true
      const m0 = meter ? meter.read() : 0
      const c0 = cpuNow()
      const t0 = now()
      for (let i = 0; i < PAGES_PER_TURN && more; i++) {
        more = await st.cursor.step(st.fold)
        st.pagesRead++
      }
      st.wall += now() - t0
      st.cpu += cpuNow() - c0
      if (meter) st.metered += meter.read() - m0
      if (sampleBudgetS !== undefined && more && st.pagesRead === PAGES_PER_TURN && st.cursor.stride !== undefined) {
        const pages = Math.ceil(total(e) / READ_ALL_PAGE)
        const projected = (seconds(st.wall) / st.pagesRead) * pages
        if (projected > sampleBudgetS) {
          const stride = Math.ceil(projected / sampleBudgetS)
          st.cursor.stride = stride
          sampledNotes.set(
            e,
            `projected ${projected.toFixed(0)} s for all ${n(pages)} pages (budget ${sampleBudgetS} s): after the first ${PAGES_PER_TURN} pages, read every ${stride}th page ` +
              `(${READ_ALL_PAGE} events each) to the end`
          )
        }
      }
      return more
    }
  )
  const results = new Map<E, { metered: number; sampledNote: string | null }>()
  for (const [e, st] of folds) {
    const sampledNote = sampledNotes.get(e) ?? null
    if (sampledNote === null && st.fold.events !== total(e)) throw new Error(`${e.key}: read-all folded ${st.fold.events} events, ${total(e)} were appended`)
    e.fig.d = { events: st.fold.events, seconds: seconds(st.wall), cpuSeconds: st.cpu, fold: st.fold.summary() }
    results.set(e, { metered: st.metered, sampledNote })
  }
  return results
}
