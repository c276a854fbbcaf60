import diff from 'microdiff'
import type { BlameEntry, EventRef, FieldChange } from '../../shared/contract/replay'
import type { RecordedEvent } from '../../shared/model/events'

/** Field-level changes between two states, by microdiff. */
export function changesBetween(before: unknown, after: unknown): FieldChange[] {
  const wrap = (v: unknown) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : { '(value)': v })
  return diff(wrap(before), wrap(after)).map((d) => {
    const path = d.path.map((p) => (typeof p === 'number' ? p : String(p)))
    if (d.type === 'CREATE') return { kind: 'added' as const, path, after: d.value }
    if (d.type === 'REMOVE') return { kind: 'removed' as const, path, before: d.oldValue }
    return { kind: 'changed' as const, path, before: d.oldValue, after: d.value }
  })
}

export function eventRef(e: RecordedEvent): EventRef {
  return { position: e.position, version: e.version, type: e.type, id: e.id, recordedAt: e.recordedAt }
}

const key = (path: Array<string | number>) => JSON.stringify(path)

/** Every leaf of a state with its path. */
export function leaves(value: unknown, path: Array<string | number> = []): Array<{ path: Array<string | number>; value: unknown }> {
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value as Record<string, unknown>)
    if (entries.length === 0) return [{ path, value }]
    return entries.flatMap(([k, v]) => leaves(v, [...path, k]))
  }
  return [{ path, value }]
}

/**
 * For each leaf of the final state, the event that last changed it: walk the steps, and for every change record
 * its event against the changed path and everything below it.
 */
export function blame(finalState: unknown, steps: Array<{ event: RecordedEvent; changes: FieldChange[] }>): BlameEntry[] {
  const setBy = new Map<string, EventRef>()
  for (const step of steps) {
    const ref = eventRef(step.event)
    for (const change of step.changes) {
      const prefix = key(change.path).slice(0, -1)
      // A change to an object replaces what was known below it.
      for (const k of [...setBy.keys()]) if (k.startsWith(prefix + ',') || k === key(change.path)) setBy.delete(k)
      if (change.kind === 'removed') continue
      for (const leaf of leaves(change.after, change.path)) setBy.set(key(leaf.path), ref)
    }
  }
  return leaves(finalState)
    .filter((l) => l.path.length > 0)
    .map((l) => ({ path: l.path, value: l.value, event: setBy.get(key(l.path)) ?? null }))
}
