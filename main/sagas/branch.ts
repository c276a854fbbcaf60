import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BranchReport, SagaDescriptor } from '../../shared/contract/sagas'
import { RpcError } from '../../shared/rpc/errors'
import { CommandBus } from '../cqrs/command-bus'
import { loadDeciders } from '../cqrs/load-deciders'
import { inThreadRunner } from '../cqrs/runner'
import { SandboxContext } from '../sandbox/context'
import { importEvents, rowToLine, type WorkProgress } from '../store/ndjson'
import { SqliteEventStore } from '../store/sqlite-store'
import { SagaClock } from './clock'
import { SagaCoordinator } from './coordinator'

export interface BranchTask {
  dbFile: string
  prelude: string
  files: Array<[string, string]>
  position: number
  inject: { kind: 'event'; streamId: string; type: string; data: Record<string, unknown>; correlationId?: string } | { kind: 'advance-clock'; ms: number }
  /** The app's saga clock offset, so deadlines on the branch are where they are in the app. */
  clockOffsetMs: number
}

/**
 * Branch and inject: copies the log up to a position (and the command log, so commands sent before it count as
 * sent) into a scratch workspace, runs the sagas there from that position, injects an event or moves the clock on,
 * and reports what the sagas did. The workspace's own log is only read.
 */
export async function branchJob(task: BranchTask, progress: WorkProgress): Promise<BranchReport> {
  const dir = mkdtempSync(join(tmpdir(), 'esw-branch-'))
  const source = new SqliteEventStore(task.dbFile)
  const branch = new SqliteEventStore(join(dir, 'events.db'))
  let coordinator: SagaCoordinator | null = null
  try {
    const head = Math.min(task.position, source.head())
    const lines = function* () {
      let from: number | null = 1
      while (from !== null && from <= head) {
        if (progress.isCancelled?.()) throw new RpcError('Cancelled', 'The branch was cancelled')
        const page = source.readAllRawSync({ from, limit: 2000, filter: { toPosition: head } })
        for (const row of page.rows) yield rowToLine(row).slice(0, -1)
        from = page.next
        progress.onProgress?.(from === null ? head : from - 1, head)
      }
    }
    if (head > 0) await importEvents(branch, lines())

    const context = new SandboxContext(task.prelude, progress.watch)
    const deciders = loadDeciders(context, task.files, { strict: false })
    const runner = inThreadRunner(context)
    // The bus makes the branch's command log; the workspace's entries go into it.
    const bus = new CommandBus(branch, runner, deciders)
    copyCommandLog(source, branch)
    const clock = new SagaClock()
    clock.advance(task.clockOffsetMs)
    coordinator = new SagaCoordinator({ store: branch, runner, send: (c) => bus.send(c), clock, tickMs: 50, resendInFlight: false })
    // The real sagas had handled everything up to the fork.
    coordinator.setCheckpoint(head)
    const sagas: SagaDescriptor[] = await coordinator.describeFiles(task.files.map(([f]) => f).filter((f) => f.startsWith('sagas/')))
    await coordinator.setSagas(sagas)
    await coordinator.idle()
    const before = new Map(coordinator.instancesList({ limit: 1_000_000 }).instances.map((i) => [i.streamId, i]))
    const mark = branch.head()
    let injected: string
    if (task.inject.kind === 'event') {
      const i = task.inject
      branch.appendSync(i.streamId, [{ type: i.type, data: i.data, metadata: { correlationId: i.correlationId ?? i.streamId, injected: true } }], 'any')
      injected = `${i.type} appended to ${i.streamId}`
    } else {
      clock.advance(task.inject.ms)
      injected = `the clock moved on ${Math.round(task.inject.ms / 1000)} s`
    }
    // Let the sagas react until they are quiet.
    for (let round = 0; round < 20; round++) {
      const at = branch.head()
      await coordinator.idle()
      await new Promise((resolve) => setTimeout(resolve, 60))
      await coordinator.idle()
      if (branch.head() === at && round > 0) break
    }
    const changed: BranchReport['changed'] = []
    for (const after of coordinator.instancesList({ limit: 1_000_000 }).instances) {
      const was = before.get(after.streamId) ?? null
      if (!was || was.version !== after.version) changed.push({ before: was, after })
    }
    const appended = branch.readAllSync({ from: mark + 1, limit: 1000 }).events
    return { position: head, dir, injected, changed, appended }
  } finally {
    await coordinator?.close()
    await branch.close()
    await source.close()
  }
}

function copyCommandLog(from: SqliteEventStore, to: SqliteEventStore) {
  const exists = from.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'command_log'").get()
  if (!exists) return
  const rows = from.db.prepare<[], { idempotency_key: string; outcome: string; recorded_at: number }>('SELECT idempotency_key, outcome, recorded_at FROM command_log').all()
  const insert = to.db.prepare('INSERT OR IGNORE INTO command_log (idempotency_key, outcome, recorded_at) VALUES (?, ?, ?)')
  to.writeTransaction(() => {
    for (const r of rows) insert.run(r.idempotency_key, r.outcome, r.recorded_at)
  })
}
