import type { CheckResult, ProjectionFault } from '../../shared/contract/projections'
import { RpcError } from '../../shared/rpc/errors'
import { inThreadRunner } from '../cqrs/runner'
import { runCheck } from '../projections/checks'
import { describeFile } from '../projections/descriptors'
import { ProjectionEngine } from '../projections/engine'
import { discardShadow, promoteShadow } from '../projections/shadow'
import { SandboxContext } from '../sandbox/context'
import { userCodeError } from '../sandbox/sandbox'
import type { WorkProgress } from '../store/ndjson'
import { SqliteEventStore } from '../store/sqlite-store'

export interface ProjectionTask {
  dbFile: string
  prelude: string
  /** The projection's definition file, as the manager loaded it. */
  file: string
  source: string
  projection: string
  /** The workspace's upcaster files ([path, source]): the job reads the log through them, as the live runner does. */
  upcasters?: Array<[string, string]>
  mode: 'shadow' | 'rebuild' | 'catch-up' | 'determinism' | 'idempotency'
  batchSize?: number
}

export type ProjectionJobResult =
  | { mode: 'shadow' | 'rebuild' | 'catch-up'; position: number; events: number; durationMs: number; fault: ProjectionFault | null; promoted: boolean }
  | { mode: 'determinism' | 'idempotency'; check: CheckResult; durationMs: number }

/**
 * Runs a projection over the whole log in a job thread, with its own connection and its own sandbox context:
 * a shadow run (into shadow tables), a rebuild (a shadow run promoted at the end), a catch-up of the live tables
 * (a large lag, batch by batch with the same checkpoint guard as the app's runner) or a check.
 */
export async function projectionJob(task: ProjectionTask, progress: WorkProgress): Promise<ProjectionJobResult> {
  const started = Date.now()
  const store = new SqliteEventStore(task.dbFile)
  const context = new SandboxContext(task.prelude, progress.watch)
  try {
    for (const [file, source] of [...(task.upcasters ?? []).filter(([f]) => f !== task.file), [task.file, task.source] as const]) {
      const loaded = context.load(file, source)
      if (!loaded.ok) throw userCodeError(loaded.failure, `loading ${file}`)
    }
    const descriptor = describeFile(context, task.file).find((d) => d.name === task.projection)
    if (!descriptor) throw new RpcError('NotFound', `${task.file} defines no projection ${task.projection}`)
    const runner = inThreadRunner(context)
    if (task.mode === 'determinism' || task.mode === 'idempotency') {
      const check = await runCheck(store, runner, descriptor, task.mode, { isCancelled: progress.isCancelled, onProgress: (done, total) => progress.onProgress?.(done, total) })
      return { mode: task.mode, check, durationMs: Date.now() - started }
    }
    const live = task.mode === 'catch-up'
    if (!live) store.writeTransaction(() => discardShadow(store.db, descriptor))
    const engine = new ProjectionEngine(store, runner, descriptor, { shadow: !live, batchSize: task.batchSize ?? 2000 })
    let events = 0
    const outcome = await engine.runToHead({
      isCancelled: progress.isCancelled,
      onProgress: (position, head) => {
        events = position
        progress.onProgress?.(position, head)
      }
    })
    const fault = outcome.kind === 'faulted' ? outcome.fault : null
    let promoted = false
    if (task.mode === 'rebuild' && !fault) {
      promoteShadow(store.db, descriptor, (fn) => store.writeTransaction(fn))
      promoted = true
    }
    return { mode: task.mode, position: engine.position(), events, durationMs: Date.now() - started, fault, promoted }
  } finally {
    await store.close()
  }
}
