import { describe, expect, it } from 'vitest'
import type { InferredShape } from '../../shared/contract'
import { shapeDeclaration, shapeRows, shapeTypeScript, typesLabel } from './inferred-shape'

const itemAddedV1: InferredShape = {
  count: 98,
  types: { object: 98 },
  fields: [
    { name: 'cartId', optional: false, shape: { count: 98, types: { string: 98 }, examples: ['1', '2'] } },
    { name: 'quantity', optional: false, shape: { count: 98, types: { integer: 98 }, examples: [1, 3], min: 1, max: 6 } },
    { name: 'price', optional: false, shape: { count: 98, types: { string: 98 }, examples: ['6.90', '12.50'] } },
    { name: 'note', optional: true, shape: { count: 10, types: { string: 9, null: 1 }, examples: ['gift'] } },
    {
      name: 'lines',
      optional: true,
      shape: {
        count: 5,
        types: { array: 5 },
        items: { count: 7, types: { object: 7 }, fields: [{ name: 'sku', optional: false, shape: { count: 7, types: { string: 7 } } }] }
      }
    }
  ]
}

describe('the field tree of an inferred shape', () => {
  it('lists fields with their types, ranges, optionality and examples, nested fields indented', () => {
    const rows = shapeRows(itemAddedV1)
    expect(rows.map((r) => [r.path, r.depth, r.optional, r.types])).toEqual([
      ['cartId', 0, false, 'string'],
      ['quantity', 0, false, 'integer 1–6'],
      ['price', 0, false, 'string'],
      ['note', 0, true, 'string 90% · null 10%'],
      ['lines', 0, true, 'array of object'],
      ['lines[].sku', 1, false, 'string']
    ])
    expect(rows[2].examples).toEqual(['"6.90"', '"12.50"'])
    expect(rows[1].examples).toEqual(['1', '3'])
  })

  it('names a single value as such, and unseen types as unknown', () => {
    expect(typesLabel({ count: 3, types: { integer: 3 }, min: 2, max: 2 })).toBe('integer 2')
    expect(typesLabel({ count: 0, types: {} })).toBe('unknown')
  })

  it('marks objects with more fields than are kept', () => {
    const rows = shapeRows({ count: 1, types: { object: 1 }, fields: [], moreFields: true })
    expect(rows).toHaveLength(1)
    expect(rows[0].types).toContain('more fields')
  })
})

describe('the TypeScript type of an inferred shape', () => {
  it('declares the data as the editor knows it: integers are numbers, optional fields get a ?', () => {
    expect(shapeTypeScript(itemAddedV1)).toBe(
      [
        '{',
        '  cartId: string',
        '  quantity: number',
        '  price: string',
        '  note?: string | null',
        '  lines?: Array<{',
        '    sku: string',
        '  }>',
        '}'
      ].join('\n')
    )
  })

  it('quotes field names that are not identifiers and names the declaration after type and version', () => {
    const text = shapeDeclaration('Item-Added', 2, { count: 1, types: { object: 1 }, fields: [{ name: 'unit price', optional: false, shape: { count: 1, types: { number: 1 } } }] })
    expect(text).toContain("EventData<'Item-Added', 2>")
    expect(text).toContain('type Item_Added_v2 = {\n  "unit price": number\n}')
  })
})
