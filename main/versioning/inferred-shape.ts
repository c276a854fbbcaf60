import type { InferredShape, JsonTypeName } from '../../shared/contract/versioning'

/** Elements of each array that are observed; the rest of a long array is assumed to look the same. */
export const ITEMS_PER_ARRAY = 100
/** Distinct fields kept per object shape, first seen first; an object used as a map would grow without end. */
export const MAX_FIELDS = 200
/** Deeper than this only the types are counted. */
export const MAX_DEPTH = 24
export const EXAMPLES_PER_FIELD = 3
const EXAMPLE_CHARS = 60

const TYPE_ORDER: JsonTypeName[] = ['null', 'boolean', 'integer', 'number', 'string', 'object', 'array']

/**
 * A shape being built: a fold over values in log order, so folding a log in one go or in pieces, resuming from a
 * stored shape, gives the same result.
 */
export interface ShapeNode {
  count: number
  types: Record<JsonTypeName, number>
  fields: Map<string, ShapeNode> | null
  moreFields: boolean
  items: ShapeNode | null
  examples: Array<string | number | boolean>
  min: number | null
  max: number | null
}

export function emptyShape(): ShapeNode {
  return {
    count: 0,
    types: { null: 0, boolean: 0, integer: 0, number: 0, string: 0, object: 0, array: 0 },
    fields: null,
    moreFields: false,
    items: null,
    examples: [],
    min: null,
    max: null
  }
}

function example(node: ShapeNode, value: string | number | boolean): void {
  if (node.examples.length >= EXAMPLES_PER_FIELD) return
  const kept = typeof value === 'string' && value.length > EXAMPLE_CHARS ? value.slice(0, EXAMPLE_CHARS) + '…' : value
  if (!node.examples.includes(kept)) node.examples.push(kept)
}

/** Adds one value to a shape. */
export function observe(node: ShapeNode, value: unknown, depth = 0): void {
  node.count++
  switch (typeof value) {
    case 'string':
      node.types.string++
      example(node, value)
      return
    case 'boolean':
      node.types.boolean++
      example(node, value)
      return
    case 'number':
      if (Number.isInteger(value)) node.types.integer++
      else node.types.number++
      if (node.min === null || value < node.min) node.min = value
      if (node.max === null || value > node.max) node.max = value
      example(node, value)
      return
    case 'object':
      break
    default:
      // JSON has nothing else; count it as null rather than lose the count.
      node.types.null++
      return
  }
  if (value === null) {
    node.types.null++
    return
  }
  if (Array.isArray(value)) {
    node.types.array++
    if (depth >= MAX_DEPTH || value.length === 0) return
    node.items ??= emptyShape()
    const n = Math.min(value.length, ITEMS_PER_ARRAY)
    for (let i = 0; i < n; i++) observe(node.items, value[i], depth + 1)
    return
  }
  node.types.object++
  if (depth >= MAX_DEPTH) return
  node.fields ??= new Map()
  const record = value as Record<string, unknown>
  for (const key in record) {
    let field = node.fields.get(key)
    if (!field) {
      if (node.fields.size >= MAX_FIELDS) {
        node.moreFields = true
        continue
      }
      field = emptyShape()
      node.fields.set(key, field)
    }
    observe(field, record[key], depth + 1)
  }
}

/** The shape as it is stored and sent: only the types seen, and whether each field is optional. */
export function toInferredShape(node: ShapeNode): InferredShape {
  const types: InferredShape['types'] = {}
  for (const t of TYPE_ORDER) if (node.types[t]) types[t] = node.types[t]
  const out: InferredShape = { count: node.count, types }
  if (node.fields) {
    const objects = node.types.object
    out.fields = [...node.fields].map(([name, field]) => ({ name, optional: field.count < objects, shape: toInferredShape(field) }))
  }
  if (node.moreFields) out.moreFields = true
  if (node.items) out.items = toInferredShape(node.items)
  if (node.examples.length) out.examples = [...node.examples]
  if (node.min !== null && node.max !== null) {
    out.min = node.min
    out.max = node.max
  }
  return out
}

/** A stored shape, ready to take more values. */
export function fromInferredShape(shape: InferredShape): ShapeNode {
  const node = emptyShape()
  node.count = shape.count
  for (const t of TYPE_ORDER) node.types[t] = shape.types[t] ?? 0
  if (shape.fields) node.fields = new Map(shape.fields.map((f) => [f.name, fromInferredShape(f.shape)]))
  node.moreFields = shape.moreFields ?? false
  if (shape.items) node.items = fromInferredShape(shape.items)
  node.examples = [...(shape.examples ?? [])]
  node.min = shape.min ?? null
  node.max = shape.max ?? null
  return node
}

const MAX_EXAMPLE_STRING = 200
const MAX_EXAMPLE_ITEMS = 10
const MAX_EXAMPLE_KEYS = 50

/** An event's data cut down to keep as an example: long strings, long arrays, wide and deep objects are cut. */
export function cutExample(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.length > MAX_EXAMPLE_STRING ? value.slice(0, MAX_EXAMPLE_STRING) + '…' : value
  if (value === null || typeof value !== 'object') return value
  if (depth >= 8) return Array.isArray(value) ? [] : {}
  if (Array.isArray(value)) return value.slice(0, MAX_EXAMPLE_ITEMS).map((v) => cutExample(v, depth + 1))
  const out: Record<string, unknown> = {}
  let n = 0
  for (const key in value as Record<string, unknown>) {
    if (n++ >= MAX_EXAMPLE_KEYS) break
    // defineProperty: a key named __proto__ stays a key.
    Object.defineProperty(out, key, { value: cutExample((value as Record<string, unknown>)[key], depth + 1), enumerable: true, writable: true, configurable: true })
  }
  return out
}
