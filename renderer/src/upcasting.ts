import type { RecordedEvent } from '../../shared/model/events'

// How an event read through the upcasters says what it was stored as.

/** `v1 → v2`, or `OldName v1 → v2` for a rename; null for an event read as it is stored. */
export function upcastBadge(event: Pick<RecordedEvent, 'type' | 'schemaVersion' | 'upcastedFrom' | 'splitIndex'>): string | null {
  const from = event.upcastedFrom
  if (!from) return null
  const renamed = from.type !== event.type
  const part = event.splitIndex !== undefined ? ` (part ${event.splitIndex + 1})` : ''
  return `${renamed ? `${from.type} ` : ''}v${from.schemaVersion} → v${event.schemaVersion}${part}`
}

/** A sentence for a tooltip: what was stored, and what every reader gets. */
export function upcastTitle(event: Pick<RecordedEvent, 'type' | 'schemaVersion' | 'upcastedFrom' | 'splitIndex'>): string {
  const from = event.upcastedFrom
  if (!from) return ''
  const part = event.splitIndex !== undefined ? `, part ${event.splitIndex + 1} of a split` : ''
  return `Stored as ${from.type} v${from.schemaVersion}; read through the upcasters as ${event.type} v${event.schemaVersion}${part}`
}

/** `read as v2`, `read as CartLineAdded v2`, `read as 2 events`: what evolve saw for a stored event upcasters changed. */
export function readAsLabel(stored: Pick<RecordedEvent, 'type'>, read: Array<Pick<RecordedEvent, 'type' | 'schemaVersion'>> | undefined): string | null {
  if (!read) return null
  if (read.length === 0) return 'read as no event'
  if (read.length > 1) return `read as ${read.length} events`
  const [one] = read
  return one.type === stored.type ? `read as v${one.schemaVersion}` : `read as ${one.type} v${one.schemaVersion}`
}
