import { describe, expect, it } from 'vitest'
import { cleanValue, describeConstraints, fieldKind, initialValue, unwrap, validate, valueAt, type JsonSchema } from './schema-form'

// What z.toJSONSchema writes for the demo's PlaceOrder command (orders.ts), trimmed to what matters here.
const line: JsonSchema = {
  type: 'object',
  properties: {
    sku: { type: 'string', minLength: 1 },
    quantity: { type: 'integer', exclusiveMinimum: 0, maximum: 9007199254740991 },
    priceCents: { type: 'integer', exclusiveMinimum: 0, maximum: 9007199254740991 }
  },
  required: ['sku', 'quantity', 'priceCents'],
  additionalProperties: false
}
const placeOrder: JsonSchema = {
  type: 'object',
  properties: {
    orderId: { type: 'string', minLength: 1 },
    country: { type: 'string', minLength: 2, maxLength: 2 },
    lines: { type: 'array', minItems: 1, items: line },
    reason: { type: 'string', enum: ['out-of-stock', 'customer-request'] },
    note: { type: 'string' },
    express: { type: 'boolean' },
    rating: { anyOf: [{ type: 'number', maximum: 5 }, { type: 'null' }] },
    refundId: { type: 'string', format: 'uuid' }
  },
  required: ['orderId', 'country', 'lines', 'reason', 'express'],
  additionalProperties: false
}
const valid = { orderId: 'o-1', country: 'DE', lines: [{ sku: 'tea', quantity: 2, priceCents: 450 }], reason: 'out-of-stock', express: false }
const messages = (value: unknown, schema = placeOrder) => Object.fromEntries(validate(schema, value).map((i) => [i.path, i.message]))

describe('checking command data against its JSON Schema', () => {
  it('accepts data that fits', () => {
    expect(validate(placeOrder, valid)).toEqual([])
    expect(validate(placeOrder, { ...valid, rating: null, refundId: '3f2b8c1e-5d4a-4e7b-9c2d-1a2b3c4d5e6f', note: 'x' })).toEqual([])
  })

  it('names every required field that is missing', () => {
    expect(messages({})).toEqual({ orderId: 'Required', country: 'Required', lines: 'Required', reason: 'Required', express: 'Required' })
  })

  it('checks string lengths, enums and UUIDs', () => {
    expect(messages({ ...valid, orderId: '', country: 'DEU', reason: 'bored', refundId: 'nope' })).toEqual({
      orderId: 'Must not be empty',
      country: 'Exactly 2 characters',
      reason: 'Must be one of: out-of-stock, customer-request',
      refundId: 'Must be a UUID, e.g. 3f2b8c1e-5d4a-4e7b-9c2d-1a2b3c4d5e6f'
    })
  })

  it('checks numbers: whole, above an exclusive minimum, under a maximum, and not text', () => {
    const lines = [
      { sku: 'a', quantity: 1.5, priceCents: 1 },
      { sku: 'b', quantity: 0, priceCents: 1 },
      { sku: 'c', quantity: 1, priceCents: Number.NaN }
    ]
    expect(messages({ ...valid, lines, rating: 6 })).toEqual({
      'lines[0].quantity': 'Must be a whole number',
      'lines[1].quantity': 'Must be greater than 0',
      'lines[2].priceCents': 'Enter a number',
      rating: 'At most 5'
    })
    expect(messages({ ...valid, express: 'yes' })).toEqual({ express: 'Must be true or false' })
  })

  it('checks lists and the fields of their items, and refuses unknown fields', () => {
    expect(messages({ ...valid, lines: [] })).toEqual({ lines: 'Add at least 1 item' })
    expect(messages({ ...valid, lines: [{ sku: 'a', quantity: 1 }], extra: 1 })).toEqual({ 'lines[0].priceCents': 'Required', extra: 'Unknown field' })
    expect(messages({ ...valid, lines: 'tea' })).toEqual({ lines: 'Must be a list' })
  })

  it('takes null where the schema allows it', () => {
    expect(unwrap(placeOrder.properties!.rating)).toEqual({ schema: { type: 'number', maximum: 5 }, nullable: true })
    expect(unwrap({ type: ['string', 'null'] })).toEqual({ schema: { type: 'string' }, nullable: true })
    expect(validate({ anyOf: [{ type: 'string' }, { type: 'null' }] }, null)).toEqual([])
    expect(validate({ type: 'string' }, null)).toEqual([{ path: '', message: 'Must be text' }])
  })

  it('leaves a pattern the browser cannot read to the engine', () => {
    expect(validate({ type: 'string', pattern: '(?<' }, 'x')).toEqual([])
    expect(validate({ type: 'string', pattern: '^[a-z]+$' }, 'X1')).toEqual([{ path: '', message: 'Must match ^[a-z]+$' }])
  })
})

describe('the form a schema makes', () => {
  it('chooses an input per field', () => {
    const p = placeOrder.properties!
    expect([p.orderId, p.lines, p.reason, p.express, p.rating, line.properties!.quantity, { type: 'object' }].map(fieldKind)).toEqual([
      'string', 'array', 'enum', 'boolean', 'number', 'integer', 'json'
    ])
  })

  it('starts with blanks, defaults, and one row in a list that needs one', () => {
    expect(initialValue(placeOrder)).toEqual({ orderId: '', country: '', lines: [{ sku: '' }], express: false })
    expect(initialValue({ type: 'object', properties: { n: { type: 'integer', default: 3 } } })).toEqual({ n: 3 })
  })

  it('leaves blank optional fields out of what it sends', () => {
    expect(cleanValue(placeOrder, { ...valid, note: '', rating: undefined })).toEqual(valid)
    expect(cleanValue(placeOrder, { ...valid, orderId: '' })).toEqual({ ...valid, orderId: '' })
  })

  it('says in a few words what a field takes, without zod’s safe-integer maximum', () => {
    expect(describeConstraints(line.properties!.quantity)).toBe('whole number, > 0')
    expect(describeConstraints(placeOrder.properties!.country)).toBe('2 characters')
    expect(describeConstraints(placeOrder.properties!.lines)).toBe('at least 1 item')
    expect(describeConstraints(placeOrder.properties!.rating)).toBe('number, ≤ 5, or null')
    expect(describeConstraints(placeOrder.properties!.refundId)).toBe('UUID')
  })

  it('finds the value at an engine path', () => {
    expect(valueAt(valid, 'lines[0].quantity')).toBe(2)
    expect(valueAt(valid, 'orderId')).toBe('o-1')
    expect(valueAt(valid, 'lines[3].sku')).toBeUndefined()
    expect(valueAt(valid, '')).toBe(valid)
  })
})
