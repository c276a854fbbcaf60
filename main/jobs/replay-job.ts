import { categoryOf } from '../../shared/model/events'
import type { DeciderHandle } from '../cqrs/command-bus'
import { inThreadRunner } from '../cqrs/runner'
import { readStreamEvents } from '../replay/read-path'
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
    const deciders: DeciderHandle[] = []
    for (const file of listDefinitionFiles(task.dir)) {
      if (!context.load(file.path, file.source).ok) continue
      const answer = context.call(JSON.stringify({ op: 'describe', file: file.path }))
      if (!answer.ok) continue
      for (const d of JSON.parse(answer.result) as Array<DeciderHandle & { kind: string }>) if (d.kind === 'decider') deciders.push({ ...d, file: file.path })
    }
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
    for (let i = 0; i < streams.length; i++) {
      if (progress.isCancelled?.()) break
      const streamId = streams[i]
      const decider = task.decider ? deciders.find((d) => d.name === task.decider) : deciders.find((d) => d.streamPrefix === categoryOf(streamId))
      if (!decider) continue
      const events = readStreamEvents(store, streamId)
      try {
        let state: unknown = null
        for (let j = 0; j < events.length; j += 2000) {
          state = (await runner.call<{ state: unknown }>({ op: 'decider.fold', file: decider.file, exportName: decider.exportName, state, events: events.slice(j, j + 2000) }, `${decider.name}.evolve`)).result.state
        }
        result.streams++
        result.events += events.length
        const tally = (result.byDecider[decider.name] ??= { streams: 0, events: 0 })
        tally.streams++
        tally.events += events.length
      } catch (error) {
        if (result.failures.length < 50) result.failures.push({ streamId, message: error instanceof Error ? error.message : String(error) })
      }
      progress.onProgress?.(i + 1, streams.length)
    }
    result.durationMs = Date.now() - started
    return result
  } finally {
    await store.close()
  }
}

