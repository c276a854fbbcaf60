import { RpcError } from '../../shared/rpc/errors'
import { CommandBus } from '../cqrs/command-bus'
import { loadDeciders } from '../cqrs/load-deciders'
import { inThreadRunner } from '../cqrs/runner'
import { SandboxContext } from '../sandbox/context'
import type { WorkProgress } from '../store/ndjson'
import { SqliteEventStore } from '../store/sqlite-store'
import { runDemoSagas } from '../sagas/demo-runs'
import { generateDemoLog, type DemoClock, type SendCommand } from '../workspace/demo/generator'
import { listDefinitionFiles } from '../workspace/definition-files'

/**
 * Generates the demo shop's log by sending commands through the workspace's own deciders, in a sandbox context
 * in this (job) thread, with the store's clock moved by the generator through simulated weeks.
 */
export async function seedDemo(task: { dbFile: string; dir: string; prelude: string; historyFiles: Record<string, string>; targetEvents?: number }, progress: WorkProgress): Promise<unknown> {
  let now = Date.UTC(2026, 8, 1)
  const clock: DemoClock = { set: (ms: number) => void (now = ms), now: () => now }
  const store = new SqliteEventStore(task.dbFile, { now: () => now })
  const context = new SandboxContext(task.prelude, progress.watch)
  try {
    const files = listDefinitionFiles(task.dir).map((f) => [f.path, f.source] as const)
    const current = loadDeciders(context, files, { strict: true })
    const runner = inThreadRunner(context)
    const buses = new Map<string, CommandBus>([['current', new CommandBus(store, runner, current)]])
    // A decider of the past runs in a context of its own, without today's upcasters: it reads its stream's events
    // as they are stored, as it did when it ran (the carts decider of v1 knows prices as units, not cents).
    const past = new SandboxContext(task.prelude, progress.watch)
    const pastRunner = inThreadRunner(past)
    for (const old of loadDeciders(past, Object.entries(task.historyFiles), { strict: true })) {
      buses.set(old.file.replace(/^history\//, '').replace(/\.ts$/, ''), new CommandBus(store, pastRunner, [old]))
    }
    const send: SendCommand = async (decider, command, data, metadata, options) => {
      const bus = buses.get(options?.deciderOverride ?? 'current')
      if (!bus) throw new RpcError('NotFound', `No historical decider ${options?.deciderOverride}`)
      const outcome = await bus.send({ decider, command, data, commandId: metadata.commandId, correlationId: metadata.correlationId, causationId: metadata.causationId, now })
      return outcome.outcome === 'accepted' ? { ok: true, events: outcome.events.length } : { ok: false, rejected: { rule: outcome.rule, message: outcome.message } }
    }
    const generated = await generateDemoLog({
      send,
      clock,
      targetEvents: task.targetEvents,
      onProgress: (done, total) => progress.onProgress?.(done, total),
      isCancelled: progress.isCancelled
    })
    // The latest orders are fulfilled by the order_fulfilment saga, with a few faults injected.
    const sagas = await runDemoSagas({
      store,
      runner,
      send: (c) => buses.get('current')!.send(c),
      now: () => now,
      setNow: (ms) => void (now = ms),
      files: files.map(([f]) => f).filter((f) => f.startsWith('sagas/'))
    })
    return { ...generated, sagas }
  } finally {
    await store.close()
  }
}
