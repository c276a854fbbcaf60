import type { InferredShape, JsonTypeName } from '../../shared/contract'

// How the Upcasters panel shows an inferred shape: a compact field tree, and the TypeScript type the editor knows it as.

const typeOrder: JsonTypeName[] = ['string', 'integer', 'number', 'boolean', 'null', 'object', 'array']

/** One line of the field tree. */
export interface ShapeRow {
  /** `price`, `lines[]`, `lines[].sku`. */
  path: string
  name: string
  depth: number
  optional: boolean
  /** `string`, `integer 1–6`, `string 90% · null 10%`, `array of object`. */
  types: string
  /** A few distinct example values as JSON text. */
  examples: string[]
  /** How many of the events had the field (for optional ones). */
  count: number
}

/** The JSON types seen at one place, most common first; with their share when there is more than one. */
export function typesLabel(shape: InferredShape): string {
  const seen = typeOrder.filter((t) => (shape.types[t] ?? 0) > 0).sort((a, b) => (shape.types[b] ?? 0) - (shape.types[a] ?? 0))
  const total = seen.reduce((n, t) => n + (shape.types[t] ?? 0), 0)
  const one = (t: JsonTypeName): string => {
    if (t === 'array') return shape.items ? `array of ${typesLabel(shape.items)}` : 'array'
    if ((t === 'integer' || t === 'number') && shape.min !== undefined && shape.max !== undefined) {
      return shape.min === shape.max ? `${t} ${shape.min}` : `${t} ${shape.min}–${shape.max}`
    }
    return t
  }
  if (seen.length === 0) return 'unknown'
  if (seen.length === 1) return one(seen[0])
  return seen.map((t) => `${one(t)} ${Math.round(((shape.types[t] ?? 0) * 100) / total)}%`).join(' · ')
}

function examplesOf(shape: InferredShape): string[] {
  return (shape.examples ?? []).map((v) => JSON.stringify(v))
}

/** The fields of a shape as rows, nested objects (and the objects in arrays) indented under their field. */
export function shapeRows(shape: InferredShape, depth = 0, prefix = ''): ShapeRow[] {
  const rows: ShapeRow[] = []
  for (const field of shape.fields ?? []) {
    const path = prefix ? `${prefix}.${field.name}` : field.name
    rows.push({ path, name: field.name, depth, optional: field.optional, types: typesLabel(field.shape), examples: examplesOf(field.shape), count: field.shape.count })
    if (field.shape.fields?.length) rows.push(...shapeRows(field.shape, depth + 1, path))
    const items = field.shape.items
    if (items?.fields?.length) rows.push(...shapeRows(items, depth + 1, `${path}[]`))
  }
  if (shape.moreFields) rows.push({ path: `${prefix}…`, name: '…', depth, optional: true, types: 'more fields (a map by key)', examples: [], count: 0 })
  return rows
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** The TypeScript type of a shape, as the editor declares the event's data (`integer` is `number` there). */
export function shapeTypeScript(shape: InferredShape, indent = ''): string {
  const t = shape.types
  const parts: string[] = []
  if (t.string) parts.push('string')
  if (t.integer || t.number) parts.push('number')
  if (t.boolean) parts.push('boolean')
  if (t.null) parts.push('null')
  if (t.array) parts.push(shape.items ? `Array<${shapeTypeScript(shape.items, indent)}>` : 'unknown[]')
  if (t.object) {
    const inner = `${indent}  `
    const fields = (shape.fields ?? []).map((f) => `${inner}${identifier.test(f.name) ? f.name : JSON.stringify(f.name)}${f.optional ? '?' : ''}: ${shapeTypeScript(f.shape, inner)}`)
    if (shape.moreFields) fields.push(`${inner}[key: string]: unknown`)
    parts.push(fields.length ? `{\n${fields.join('\n')}\n${indent}}` : 'Record<string, unknown>')
  }
  return parts.length ? parts.join(' | ') : 'unknown'
}

/** `type ItemAdded_v1 = { … }`: a declaration to read beside the code. */
export function shapeDeclaration(type: string, schemaVersion: number, shape: InferredShape): string {
  const name = `${type.replace(/[^A-Za-z0-9_$]/g, '_')}_v${schemaVersion}`
  return `// EventData<'${type}', ${schemaVersion}>\ntype ${name} = ${shapeTypeScript(shape)}\n`
}
