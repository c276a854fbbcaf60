import { execFileSync } from 'node:child_process'
import { cpus } from 'node:os'
import { EVENTS_PER_BATCH, type Workload } from './workload'

/** The figures of one system and how they are compared and printed. */

export interface AppendFigures {
  plannedCalls: number
  calls: number
  events: number
  seconds: number
  /** CPU time of the process (all threads) over the same calls: less disturbed by other load on the machine. */
  cpuSeconds: number
  /** Set when the phase ran fewer calls than planned (too slow); says why. */
  scaledNote: string | null
}

export interface SystemFigures {
  key: string
  label: string
  a?: AppendFigures
  b?: AppendFigures
  c?: { reads: number; meanMs: number; p50Ms: number; p99Ms: number; cpuMsPerRead: number }
  d?: { events: number; seconds: number; cpuSeconds: number; fold: string }
  e?: { bytes: number; events: number }
  notes: string[]
}

export type Measure = 'a' | 'b' | 'c' | 'd' | 'e'

export const MEASURES: Array<{ id: Measure; title: string; unit: string; higherIsBetter: boolean }> = [
  { id: 'a', title: '(a) batch append, 100 events/call', unit: 'events/s', higherIsBetter: true },
  { id: 'b', title: '(b) single-event append', unit: 'appends/s', higherIsBetter: true },
  { id: 'c', title: '(c) read one 100-event stream', unit: 'ms/read', higherIsBetter: false },
  { id: 'd', title: '(d) read all + fold (JSON.parse)', unit: 'events/s', higherIsBetter: true },
  { id: 'e', title: '(e) disk after checkpoint', unit: 'bytes/event', higherIsBetter: false }
]

/** A ratio's target: at least or at most `value`. */
export type Target = { op: '>=' | '<='; value: number }

/** ours/other: a throughput ratio for (a), (b), (d); a time ratio for (c); a size ratio for (e). */
export const TARGETS: Record<Measure, { raw?: Target; emmett?: Target }> = {
  a: { raw: { op: '>=', value: 0.8 }, emmett: { op: '>=', value: 5 } },
  b: { raw: { op: '>=', value: 0.8 }, emmett: { op: '>=', value: 5 } },
  c: { raw: { op: '<=', value: 1.3 } },
  d: { raw: { op: '>=', value: 0.8 } },
  e: { raw: { op: '<=', value: 1.15 } }
}

export function figure(s: SystemFigures | undefined, m: Measure): number | null {
  if (!s) return null
  switch (m) {
    case 'a':
      return s.a ? s.a.events / s.a.seconds : null
    case 'b':
      return s.b ? s.b.calls / s.b.seconds : null
    case 'c':
      return s.c ? s.c.meanMs : null
    case 'd':
      return s.d ? s.d.events / s.d.seconds : null
    case 'e':
      return s.e ? s.e.bytes / s.e.events : null
  }
}

/** The same figure from CPU time instead of wall-clock time (for (a)–(d)); a check on a busy machine. */
export function cpuFigure(s: SystemFigures | undefined, m: Measure): number | null {
  if (!s) return null
  switch (m) {
    case 'a':
      return s.a ? s.a.events / s.a.cpuSeconds : null
    case 'b':
      return s.b ? s.b.calls / s.b.cpuSeconds : null
    case 'c':
      return s.c ? s.c.cpuMsPerRead : null
    case 'd':
      return s.d ? s.d.events / s.d.cpuSeconds : null
    case 'e':
      return figure(s, m)
  }
}

export function formatFigure(value: number | null, m: Measure): string {
  if (value === null) return 'n/a'
  if (m === 'c') return value < 1 ? value.toFixed(3) : value.toFixed(2)
  if (m === 'e') return value.toFixed(1)
  return Math.round(value).toLocaleString('en-US')
}

export function ratio(ours: number | null, other: number | null): number | null {
  return ours === null || other === null || other === 0 ? null : ours / other
}

export function formatRatio(r: number | null): string {
  if (r === null) return 'n/a'
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`
}

/** A whole number with thousands separators. */
export const n = (x: number): string => Math.round(x).toLocaleString('en-US')

export function verdict(r: number | null, target: Target | undefined): string {
  if (!target) return ''
  const wanted = `${target.op === '>=' ? '≥' : '≤'} ${target.value}×`
  if (r === null) return `(target ${wanted})`
  const met = target.op === '>=' ? r >= target.value : r <= target.value
  return `(target ${wanted}: ${met ? 'met' : 'MISSED'})`
}

/** A ratio's cell in a Markdown table: with its target and whether it is met, when it has one. */
export function cell(r: number | null, target: Target | undefined): string {
  if (r === null) return 'n/a'
  if (!target) return formatRatio(r)
  const met = target.op === '>=' ? r >= target.value : r <= target.value
  return `${formatRatio(r)} (${target.op === '>=' ? '≥' : '≤'} ${target.value}×) ${met ? '✅' : '❌'}`
}

/** A Markdown table's header row and its alignment row (the first column left, the figures right). */
export function tableHead(header: string[]): string[] {
  return [`| ${header.join(' | ')} |`, `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`]
}

/** How a report begins: the workload and the machine (the rest of the sentence is the benchmark's own). */
export function workloadAndMachine(w: Workload): string {
  const events = w.batchStreams * EVENTS_PER_BATCH + w.singleCalls
  return (
    `${n(w.batchStreams * EVENTS_PER_BATCH)} events of ~250 bytes of JSON in ${n(w.batchStreams)} streams, then ${n(w.singleCalls)} single-event appends ` +
    `(${n(events)} events in all; scale ${w.scale}). ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, `
  )
}

/** Which code of the store was measured: the commit, and whether main/store had changes on top of it. */
export function storeSource(root: string): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    const commit = git('rev-parse', '--short', 'HEAD')
    const dirty = git('status', '--porcelain', '--', 'main/store').length > 0
    return `commit ${commit}${dirty ? ' plus uncommitted changes in main/store' : ''}`
  } catch {
    return 'unknown (no git)'
  }
}
