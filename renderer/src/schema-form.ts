/**
 * The part of JSON Schema that the command form understands: what `z.toJSONSchema` writes for command data
 * (draft 2020-12: objects, arrays, strings, numbers, integers, booleans, enums, nullable via anyOf).
 * The form checks lightly as you type; the engine validates with zod and has the last word.
 */
export interface JsonSchema {
  type?: string | string[]
  title?: string
  description?: string
  default?: unknown
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  items?: JsonSchema
  minItems?: number
  maxItems?: number
  enum?: unknown[]
  const?: unknown
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  multipleOf?: number
  minLength?: number
  maxLength?: number
  pattern?: string
  format?: string
}

export interface FieldIssue {
  /** `lines[0].sku`, the way the engine names fields in InvalidInput issues; '' is the whole object. */
  path: string
  message: string
}

export type FieldKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'array' | 'object' | 'json'

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
/** zod writes this as the maximum of every integer; it says nothing a person needs to read. */
const SAFE_MAX = Number.MAX_SAFE_INTEGER

/** Whatever came over the wire, as a schema (anything that is not an object accepts anything). */
export function asSchema(value: unknown): JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonSchema) : {}
}

/** `a.b[2].c`: a child path in the engine's notation. */
export function fieldPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`
  return parent === '' ? key : `${parent}.${key}`
}

/** A nullable schema (`anyOf: [X, {type: 'null'}]` or `type: [X, 'null']`) as X, and whether it takes null. */
export function unwrap(schema: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((t) => t !== 'null')
    return { schema: { ...schema, type: types.length === 1 ? types[0] : types }, nullable: types.length < schema.type.length }
  }
  const options = schema.anyOf ?? schema.oneOf
  if (options) {
    const rest = options.filter((o) => o.type !== 'null')
    if (rest.length === 1) {
      const { anyOf: _a, oneOf: _o, ...outer } = schema
      return { schema: { ...outer, ...rest[0] }, nullable: rest.length < options.length }
    }
  }
  return { schema, nullable: false }
}

/** Which input the form shows for a schema. */
export function fieldKind(schema: JsonSchema): FieldKind {
  const s = unwrap(schema).schema
  if (Array.isArray(s.enum) || s.const !== undefined) return 'enum'
  switch (s.type) {
    case 'string':
    case 'number':
    case 'integer':
    case 'boolean':
    case 'array':
      return s.type
    case 'object':
      return s.properties ? 'object' : 'json'
    default:
      return 'json'
  }
}

/** The choices of an enum field. */
export function enumOptions(schema: JsonSchema): unknown[] {
  const s = unwrap(schema).schema
  return s.enum ?? (s.const !== undefined ? [s.const] : [])
}

/** What a new form holds: defaults where the schema has them, an empty row for lists that need one. */
export function initialValue(schema: JsonSchema, required = true): unknown {
  const { schema: s } = unwrap(schema)
  if (s.default !== undefined) return JSON.parse(JSON.stringify(s.default)) as unknown
  switch (fieldKind(s)) {
    case 'object': {
      const out: Record<string, unknown> = {}
      for (const [key, child] of Object.entries(s.properties ?? {})) {
        const value = initialValue(child, (s.required ?? []).includes(key))
        if (value !== undefined) out[key] = value
      }
      return out
    }
    case 'array':
      return Array.from({ length: Math.min(s.minItems ?? 0, 20) }, () => initialValue(s.items ?? {}))
    case 'string':
      return required ? '' : undefined
    case 'boolean':
      return required ? false : undefined
    default:
      return undefined
  }
}

/** The data to send: blank optional fields are left out rather than sent as empty strings. */
export function cleanValue(schema: JsonSchema, value: unknown): unknown {
  const { schema: s } = unwrap(schema)
  if (Array.isArray(value)) return value.map((item) => cleanValue(s.items ?? {}, item))
  if (typeof value === 'object' && value !== null && s.properties) {
    const out: Record<string, unknown> = {}
    const required = s.required ?? []
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (item === undefined) continue
      if (item === '' && !required.includes(key)) continue
      out[key] = s.properties[key] ? cleanValue(s.properties[key], item) : item
    }
    return out
  }
  return value
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
const shown = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v))

/** Checks a value against its schema; each issue names its field in the engine's notation. */
export function validate(schema: JsonSchema, value: unknown, path = ''): FieldIssue[] {
  const { schema: s, nullable } = unwrap(schema)
  if (value === null && nullable) return []
  const issue = (message: string): FieldIssue[] => [{ path, message }]

  if (Array.isArray(s.enum) || s.const !== undefined) {
    const options = enumOptions(s)
    if (value === undefined || value === '') return issue('Choose one')
    return options.some((o) => o === value) ? [] : issue(`Must be one of: ${options.map(shown).join(', ')}`)
  }
  switch (s.type) {
    case 'string':
      return typeof value === 'string' ? checkString(s, value, path) : issue('Must be text')
    case 'number':
    case 'integer':
      if (typeof value !== 'number' || !Number.isFinite(value)) return issue(value === undefined ? 'Required' : 'Enter a number')
      if (s.type === 'integer' && !Number.isInteger(value)) return issue('Must be a whole number')
      return checkNumber(s, value, path)
    case 'boolean':
      return typeof value === 'boolean' ? [] : issue('Must be true or false')
    case 'null':
      return value === null ? [] : issue('Must be null')
    case 'array': {
      if (!Array.isArray(value)) return issue('Must be a list')
      const out: FieldIssue[] = []
      if (s.minItems !== undefined && value.length < s.minItems) out.push({ path, message: `Add at least ${plural(s.minItems, 'item')}` })
      if (s.maxItems !== undefined && value.length > s.maxItems) out.push({ path, message: `At most ${plural(s.maxItems, 'item')}` })
      value.forEach((item, i) => out.push(...validate(s.items ?? {}, item, fieldPath(path, i))))
      return out
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return issue('Must be an object')
      const record = value as Record<string, unknown>
      const out: FieldIssue[] = []
      const properties = s.properties ?? {}
      for (const key of s.required ?? []) {
        if (record[key] === undefined) out.push({ path: fieldPath(path, key), message: 'Required' })
      }
      for (const [key, item] of Object.entries(record)) {
        if (item === undefined) continue
        if (properties[key]) out.push(...validate(properties[key], item, fieldPath(path, key)))
        else if (s.additionalProperties === false) out.push({ path: fieldPath(path, key), message: 'Unknown field' })
      }
      return out
    }
    default:
      return []
  }
}

function checkString(s: JsonSchema, value: string, path: string): FieldIssue[] {
  const issue = (message: string) => [{ path, message }]
  const length = [...value].length
  if (s.minLength !== undefined && s.minLength === s.maxLength && length !== s.minLength) return issue(`Exactly ${plural(s.minLength, 'character')}`)
  if (s.minLength !== undefined && length < s.minLength) return issue(s.minLength === 1 ? 'Must not be empty' : `At least ${plural(s.minLength, 'character')}`)
  if (s.maxLength !== undefined && length > s.maxLength) return issue(`At most ${plural(s.maxLength, 'character')}`)
  if (s.format === 'uuid' && !UUID.test(value)) return issue('Must be a UUID, e.g. 3f2b8c1e-5d4a-4e7b-9c2d-1a2b3c4d5e6f')
  if (s.format === 'email' && !EMAIL.test(value)) return issue('Must be an email address')
  if (s.pattern && s.format !== 'uuid' && s.format !== 'email') {
    try {
      if (!new RegExp(s.pattern, 'u').test(value)) return issue(`Must match ${s.pattern}`)
    } catch {
      // A pattern the browser cannot read is left to the engine.
    }
  }
  return []
}

function checkNumber(s: JsonSchema, value: number, path: string): FieldIssue[] {
  const issue = (message: string) => [{ path, message }]
  if (s.exclusiveMinimum !== undefined && value <= s.exclusiveMinimum) return issue(`Must be greater than ${s.exclusiveMinimum}`)
  if (s.minimum !== undefined && value < s.minimum) return issue(`At least ${s.minimum}`)
  if (s.exclusiveMaximum !== undefined && value >= s.exclusiveMaximum) return issue(`Must be less than ${s.exclusiveMaximum}`)
  if (s.maximum !== undefined && value > s.maximum) return issue(`At most ${s.maximum}`)
  if (s.multipleOf !== undefined && Math.abs(value / s.multipleOf - Math.round(value / s.multipleOf)) > 1e-9) return issue(`Must be a multiple of ${s.multipleOf}`)
  return []
}

/** A short line under a field saying what it takes: `whole number > 0`, `2 characters`, `UUID`. */
export function describeConstraints(schema: JsonSchema): string {
  const { schema: s, nullable } = unwrap(schema)
  const parts: string[] = []
  switch (fieldKind(s)) {
    case 'string':
      if (s.format === 'uuid') parts.push('UUID')
      else if (s.format === 'email') parts.push('email address')
      else if (s.minLength !== undefined && s.minLength === s.maxLength) parts.push(plural(s.minLength, 'character'))
      else {
        if (s.minLength !== undefined && s.minLength > 1) parts.push(`at least ${plural(s.minLength, 'character')}`)
        if (s.maxLength !== undefined) parts.push(`at most ${plural(s.maxLength, 'character')}`)
        if (s.pattern) parts.push(`matches ${s.pattern}`)
      }
      break
    case 'number':
    case 'integer': {
      parts.push(s.type === 'integer' ? 'whole number' : 'number')
      if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`)
      if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`)
      if (s.exclusiveMaximum !== undefined && s.exclusiveMaximum < SAFE_MAX) parts.push(`< ${s.exclusiveMaximum}`)
      if (s.maximum !== undefined && s.maximum < SAFE_MAX) parts.push(`≤ ${s.maximum}`)
      break
    }
    case 'array':
      if (s.minItems) parts.push(`at least ${plural(s.minItems, 'item')}`)
      if (s.maxItems !== undefined) parts.push(`at most ${plural(s.maxItems, 'item')}`)
      break
  }
  if (nullable) parts.push('or null')
  return parts.join(', ')
}

/** The value at a path in the engine's notation (`lines[0].sku`), or undefined when there is none. */
export function valueAt(value: unknown, path: string): unknown {
  if (path === '') return value
  let at: unknown = value
  for (const [, key, index] of path.matchAll(/(?:^|\.)([^.[\]]+)|\[(\d+)\]/g)) {
    if (typeof at !== 'object' || at === null) return undefined
    at = index !== undefined ? (Array.isArray(at) ? at[Number(index)] : undefined) : (at as Record<string, unknown>)[key]
  }
  return at
}
