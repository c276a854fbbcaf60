import type { CausationGraph } from '../../shared/contract/sagas'
import type { RecordedEvent } from '../../shared/model/events'
import type { SqliteEventStore } from '../store/sqlite-store'

/**
 * Which events caused which, for one correlation id: every event of a command carries the command's id
 * (`causationId`) and what the command was sent because of (`commandCausationId`: an event id, or a command id).
 * An edge goes from that cause to each event the command produced. For flows written as choreography, where no
 * saga stream says what happened, this is the picture.
 */
export function causationGraph(store: SqliteEventStore, correlationId: string, limit = 500): CausationGraph {
  const events: RecordedEvent[] = []
  let from: number | null = 1
  let truncated = false
  while (from !== null) {
    const page = store.readAllSync({ from, limit: Math.min(1000, limit + 1 - events.length), filter: { correlationId } })
    events.push(...page.events)
    from = page.next
    if (events.length > limit) {
      truncated = true
      events.length = limit
      break
    }
  }
  const byId = new Map(events.map((e) => [e.id, e]))
  // Events by the command that produced them, to follow a command caused by a command.
  const byCommand = new Map<string, RecordedEvent[]>()
  for (const e of events) {
    const commandId = meta(e, 'causationId')
    if (commandId) byCommand.set(commandId, [...(byCommand.get(commandId) ?? []), e])
  }
  const edges: CausationGraph['edges'] = []
  const seen = new Set<string>()
  for (const e of events) {
    const cause = meta(e, 'commandCausationId')
    const commandId = meta(e, 'causationId')
    const command = meta(e, 'commandType') ?? null
    let sources: RecordedEvent[] = []
    if (cause && byId.has(cause)) sources = [byId.get(cause)!]
    else if (cause && byCommand.has(cause)) sources = byCommand.get(cause)!.slice(-1)
    else if (commandId && byId.has(commandId) && commandId !== e.id) sources = [byId.get(commandId)!]
    for (const s of sources) {
      const key = `${s.id}>${e.id}`
      if (s.id === e.id || seen.has(key)) continue
      seen.add(key)
      edges.push({ from: s.id, to: e.id, command, commandId: commandId ?? null })
    }
  }
  return { correlationId, nodes: events.map((e) => ({ id: e.id, event: e })), edges, truncated }
}

function meta(e: RecordedEvent, key: string): string | undefined {
  const v = (e.metadata as Record<string, unknown> | null)?.[key]
  return typeof v === 'string' ? v : undefined
}
