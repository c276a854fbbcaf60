import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { CheckResult, ProjectionDescriptor, RowDiff } from '../../shared/contract/projections'
import { RpcError } from '../../shared/rpc/errors'
import type { CodeRunner } from '../cqrs/runner'
import type { EventRow, SqliteEventStore } from '../store/sqlite-store'
import { ProjectionEngine, type PreparedBatch, type Write } from './engine'

/** JSON with object keys sorted, so two equal rows built in a different key order compare equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(value ?? null)
}

function sameWrites(a: Write[], b: Write[]): boolean {
  const norm = (w: Write[]) => w.map(([table, key, row]) => `${table}\u0000${key}\u0000${canonical(row)}`).sort()
  const x = norm(a)
  const y = norm(b)
  return x.length === y.length && x.every((v, i) => v === y[i])
}

function writeDiff(a: Write[], b: Write[]): RowDiff[] {
  const byTable = new Map<string, RowDiff>()
  const index = (w: Write[]) => new Map(w.map(([table, key, row]) => [`${table}\u0000${key}`, { table, row }]))
  const ia = index(a)
  const ib = index(b)
  for (const k of new Set([...ia.keys(), ...ib.keys()])) {
    const x = ia.get(k)
    const y = ib.get(k)
    const table = (x ?? y)!.table
    let d = byTable.get(table)
    if (!d) byTable.set(table, (d = { table, added: 0, removed: 0, changed: 0, unchanged: 0, samples: { added: [], removed: [], changed: [] } }))
    if (canonical(x?.row) === canonical(y?.row)) d.unchanged++
    else if (!x?.row) {
      d.added++
      if (d.samples.added.length < 10) d.samples.added.push(y!.row!)
    } else if (!y?.row) {
      d.removed++
      if (d.samples.removed.length < 10) d.samples.removed.push(x.row)
    } else {
      d.changed++
      if (d.samples.changed.length < 10) d.samples.changed.push({ before: x.row, after: y.row })
    }
  }
  return [...byTable.values()].filter((d) => d.added + d.removed + d.changed > 0)
}

/**
 * Determinism: two rebuilds in the same context, batch by batch in lockstep (so state a handler keeps outside the
 * read model shows up as a difference). Idempotency: the second run gets every event twice. Each run writes into
 * its own throwaway database; when a batch's writes differ, its events are run one at a time to name the first
 * event that shows the problem.
 */
export async function runCheck(
  store: SqliteEventStore,
  runner: CodeRunner,
  d: ProjectionDescriptor,
  check: 'determinism' | 'idempotency',
  progress: { isCancelled?: () => boolean; onProgress?: (done: number, total: number) => void } = {}
): Promise<CheckResult> {
  const db = store.db
  const token = randomBytes(4).toString('hex')
  const files = [join(tmpdir(), `esw-check-${token}-a.db`), join(tmpdir(), `esw-check-${token}-b.db`)]
  db.exec(`ATTACH DATABASE '${files[0].replace(/'/g, "''")}' AS chk_a`)
  db.exec(`ATTACH DATABASE '${files[1].replace(/'/g, "''")}' AS chk_b`)
  try {
    const a = new ProjectionEngine(store, runner, d, { schema: 'chk_a' })
    const b = new ProjectionEngine(store, runner, d, { schema: 'chk_b', deliverTwice: check === 'idempotency' })
    const head = store.head()
    let position = 0
    let checked = 0
    const result = (first: EventRow | null, differences: RowDiff[]): CheckResult => ({
      check,
      passed: first === null,
      eventsChecked: checked,
      firstOffending: first ? { position: first.position, streamId: first.stream_id, type: first.type } : null,
      differences
    })
    while (position < head) {
      if (progress.isCancelled?.()) throw new RpcError('Cancelled', `The ${check} check of ${d.name} was cancelled`)
      const { events, to } = a.readEvents(position)
      if (to === position) break
      // A handler that throws in only one of the runs (a repeated delivery of a delete) is a difference too.
      const both = await Promise.all([a.prepare(events, position, to), b.prepare(events, position, to)]).catch(() => null)
      if (!both || !sameWrites(both[0].writes, both[1].writes)) {
        a.invalidate()
        b.invalidate()
        let at = position
        for (const event of events) {
          checked++
          let x1: PreparedBatch, y1: PreparedBatch
          try {
            x1 = await a.prepare([event], at, event.position)
            y1 = await b.prepare([event], at, event.position)
          } catch {
            return result(event, [])
          }
          if (!sameWrites(x1.writes, y1.writes)) return result(event, writeDiff(x1.writes, y1.writes))
          await commitBoth(a, b, x1, y1)
          at = event.position
        }
        return result(events[0] ?? null, both ? writeDiff(both[0].writes, both[1].writes) : [])
      }
      await commitBoth(a, b, both[0], both[1])
      checked += events.length
      position = to
      progress.onProgress?.(position, head)
    }
    return result(null, [])
  } finally {
    db.exec('DETACH DATABASE chk_a')
    db.exec('DETACH DATABASE chk_b')
    for (const f of files) for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(f + suffix, { force: true })
  }
}

async function commitBoth(a: ProjectionEngine, b: ProjectionEngine, x: PreparedBatch, y: PreparedBatch) {
  await a.commit(x)
  await b.commit(y)
}
