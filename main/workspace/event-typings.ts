import type { EventSchema, InferredShape } from '../../shared/contract/versioning'
import { WORKBENCH_DTS } from './workbench-dts'

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** A TypeScript type for an inferred shape: the union of the JSON types seen, fields optional where some lacked them. */
function render(shape: InferredShape, indent: string): string {
  const t = shape.types
  const parts: string[] = []
  if (t.string) parts.push('string')
  if (t.integer || t.number) parts.push('number')
  if (t.boolean) parts.push('boolean')
  if (t.null) parts.push('null')
  if (t.array) parts.push(shape.items ? `Array<${render(shape.items, indent)}>` : 'unknown[]')
  if (t.object) {
    const inner = indent + '  '
    const fields = (shape.fields ?? []).map((field) => {
      const name = identifier.test(field.name) ? field.name : JSON.stringify(field.name)
      return `${inner}${name}${field.optional ? '?' : ''}: ${render(field.shape, inner)}`
    })
    if (shape.moreFields) fields.push(`${inner}[key: string]: unknown`)
    parts.push(fields.length ? `{\n${fields.join('\n')}\n${indent}}` : 'Record<string, unknown>')
  }
  return parts.length ? parts.join(' | ') : 'unknown'
}

/** Declares each event type and schema version the log holds (from the inferred schemas), so `event.data.` completes. */
export function eventTypings(schemas: EventSchema[]): string {
  const entries = new Map<string, string[]>()
  for (const schema of schemas) {
    const list = entries.get(schema.type) ?? []
    list.push(`{ schemaVersion: ${schema.schemaVersion}; data: ${render(schema.shape, '      ')} }`)
    entries.set(schema.type, list)
  }
  const body = [...entries].map(([type, variants]) => `    ${JSON.stringify(type)}: ${variants.join(' | ')}`).join('\n')
  return `// Generated from the events in this workspace's log.\ndeclare module 'workbench' {\n  interface EventCatalog {\n${body}\n  }\n}\nexport {}\n`
}

/** Everything the editor needs to type-check definition files. */
export function workspaceTypings(schemas: EventSchema[]): { files: Array<{ path: string; content: string }> } {
  return {
    files: [
      { path: 'file:///node_modules/@types/workbench/index.d.ts', content: WORKBENCH_DTS },
      { path: 'file:///workspace-events.d.ts', content: eventTypings(schemas) }
    ]
  }
}
