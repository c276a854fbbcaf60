import type { DeciderHandle } from '../cqrs/command-bus'
import type { CodeRunner } from '../cqrs/runner'
import type { SqliteEventStore } from '../store/sqlite-store'
import { readStreamEventsJson } from './read-path'

const BATCH_EVENTS = 20_000

/**
 * Folds many streams with one decider, batching streams so that each crossing into the sandbox carries about
 * BATCH_EVENTS events; events go as the stored JSON text, parsed once inside. Returns the final states in order.
 */
export async function foldStreams(
  store: SqliteEventStore,
  runner: CodeRunner,
  decider: DeciderHandle,
  streamIds: string[],
  onBatch?: (done: number) => void,
  options: { states?: boolean } = {}
): Promise<{ states: unknown[]; streams: number; events: number }> {
  const wantStates = options.states !== false
  let folded = 0
  const states: unknown[] = []
  let events = 0
  let parts: string[] = []
  let inBatch = 0
  const head = `{"op":"decider.foldMany","states":${wantStates},"file":${JSON.stringify(decider.file)},"exportName":${JSON.stringify(decider.exportName)},"streams":[`
  const flush = async () => {
    if (parts.length === 0) return
    const request = `${head}${parts.join(',')}]}`
    const where = `${decider.name}.evolve`
    const { result } = runner.callText
      ? await runner.callText<unknown[] | number>(request, where)
      : await runner.call<unknown[] | number>(JSON.parse(request) as Record<string, unknown>, where)
    if (Array.isArray(result)) states.push(...result)
    folded += parts.length
    parts = []
    inBatch = 0
    onBatch?.(folded)
  }
  for (const streamId of streamIds) {
    const { json, count } = readStreamEventsJson(store, streamId)
    parts.push(`{"state":null,"events":${json}}`)
    inBatch += count
    events += count
    if (inBatch >= BATCH_EVENTS) await flush()
  }
  await flush()
  return { states, streams: folded, events }
}
