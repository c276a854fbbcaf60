import type { SqliteEventStore } from '../store/sqlite-store'
import { WORKBENCH_DTS } from './workbench-dts'

/** A JSON shape seen in samples: the union of what each sample had. */
type Shape = {
  types: Set<'string' | 'number' | 'boolean' | 'null'>
  object?: Map<string, { shape: Shape; seen: number }>
  objectCount: number
  array?: Shape
}

const emptyShape = (): Shape => ({ types: new Set(), objectCount: 0 })

function observe(shape: Shape, value: unknown): void {
  if (value === null) shape.types.add('null')
  else if (Array.isArray(value)) {
    shape.array ??= emptyShape()
    for (const item of value.slice(0, 20)) observe(shape.array, item)
  } else if (typeof value === 'object') {
    shape.object ??= new Map()
    shape.objectCount++
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      let field = shape.object.get(key)
      if (!field) shape.object.set(key, (field = { shape: emptyShape(), seen: 0 }))
      field.seen++
      observe(field.shape, v)
    }
  } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') shape.types.add(value === undefined ? 'null' : (typeof value as 'string'))
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

function render(shape: Shape, indent: string): string {
  const parts: string[] = [...shape.types]
  if (shape.array) parts.push(`Array<${render(shape.array, indent)}>`)
  if (shape.object) {
    const inner = indent + '  '
    const fields = [...shape.object.entries()].map(([key, field]) => {
      const name = identifier.test(key) ? key : JSON.stringify(key)
      return `${inner}${name}${field.seen < shape.objectCount ? '?' : ''}: ${render(field.shape, inner)}`
    })
    parts.push(fields.length ? `{\n${fields.join('\n')}\n${indent}}` : 'Record<string, unknown>')
  }
  return parts.length ? parts.join(' | ') : 'unknown'
}

/** Samples each event type and schema version in the log and declares their data, so `event.data.` completes. */
export function eventTypings(store: SqliteEventStore, samplesPerVersion = 50): string {
  const types = store.db.prepare('SELECT DISTINCT type, schema_version AS version FROM events ORDER BY type, schema_version').all() as Array<{ type: string; version: number }>
  const sample = store.db.prepare<[string, number, number], { data: string }>('SELECT data FROM events WHERE type = ? AND schema_version = ? ORDER BY position DESC LIMIT ?')
  const entries = new Map<string, string[]>()
  for (const { type, version } of types) {
    const shape = emptyShape()
    for (const row of sample.all(type, version, samplesPerVersion)) observe(shape, JSON.parse(row.data))
    const list = entries.get(type) ?? []
    list.push(`{ schemaVersion: ${version}; data: ${render(shape, '      ')} }`)
    entries.set(type, list)
  }
  const body = [...entries].map(([type, variants]) => `    ${JSON.stringify(type)}: ${variants.join(' | ')}`).join('\n')
  return `// Generated from the events in this workspace's log.\ndeclare module 'workbench' {\n  interface EventCatalog {\n${body}\n  }\n}\nexport {}\n`
}

/** Everything the editor needs to type-check definition files. */
export function workspaceTypings(store: SqliteEventStore): { files: Array<{ path: string; content: string }> } {
  return {
    files: [
      { path: 'file:///node_modules/@types/workbench/index.d.ts', content: WORKBENCH_DTS },
      { path: 'file:///workspace-events.d.ts', content: eventTypings(store) }
    ]
  }
}
