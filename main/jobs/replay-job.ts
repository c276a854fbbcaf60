import { categoryOf } from '../../shared/model/events'
import type { DeciderHandle } from '../cqrs/command-bus'
import { loadDeciders } from '../cqrs/load-deciders'
import { inThreadRunner } from '../cqrs/runner'
import { foldStreams } from '../replay/fold-many'
import { SandboxContext } from '../sandbox/context'
import type { WorkProgress } from '../store/ndjson'
import { SqliteEventStore } from '../store/sqlite-store'
import { listDefinitionFiles } from '../workspace/definition-files'

export interface ReplayJobResult {
  streams: number
  events: number
  failures: Array<{ streamId: string; message: string }>
  byDecider: Record<string, { streams: number; events: number }>
  durationMs: number
}

/** Replays every stream of a category (or of the whole log) through its decider, off the main thread. */
export async function replayJob(task: { dbFile: string; dir: string; prelude: string; category?: string; decider?: string }, progress: WorkProgress): Promise<ReplayJobResult> {
  const started = Date.now()
  const store = new SqliteEventStore(task.dbFile, { readonly: false })
  const context = new SandboxContext(task.prelude, progress.watch)
  try {
    const deciders = loadDeciders(context, listDefinitionFiles(task.dir).map((f) => [f.path, f.source] as const), { strict: false })
    const runner = inThreadRunner(context)
    const streams: string[] = []
    let after: string | undefined
    for (;;) {
      const page = await store.listStreams({ category: task.category, after, limit: 1000 })
      streams.push(...page.streams.map((s) => s.streamId))
      if (!page.next) break
      after = page.next
    }
    const result: ReplayJobResult = { streams: 0, events: 0, failures: [], byDecider: {}, durationMs: 0 }
    // Group streams by decider, then fold each group in large batches.
    const groups = new Map<DeciderHandle, string[]>()
    for (const streamId of streams) {
      const decider = task.decider ? deciders.find((d) => d.name === task.decider) : deciders.find((d) => d.streamPrefix === categoryOf(streamId))
      if (!decider) continue
      if (!groups.has(decider)) groups.set(decider, [])
      groups.get(decider)!.push(streamId)
    }
    let done = 0
    for (const [decider, ids] of groups) {
      if (progress.isCancelled?.()) break
      try {
        const folded = await foldStreams(store, runner, decider, ids, (n) => progress.onProgress?.(done + n, streams.length), { states: false })
        result.streams += ids.length
        result.events += folded.events
        result.byDecider[decider.name] = { streams: ids.length, events: folded.events }
      } catch (error) {
        // A batch failed: fold its streams one by one to name the ones that fail.
        for (const streamId of ids) {
          try {
            const folded = await foldStreams(store, runner, decider, [streamId])
            result.streams++
            result.events += folded.events
          } catch (inner) {
            if (result.failures.length < 50) result.failures.push({ streamId, message: inner instanceof Error ? inner.message : String(error) })
          }
        }
      }
      done += ids.length
      progress.onProgress?.(done, streams.length)
    }
    result.durationMs = Date.now() - started
    return result
  } finally {
    await store.close()
  }
}

