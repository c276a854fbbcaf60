import { describe, expect, it } from 'vitest'
import type { BlameEntry, FieldChange } from '../../shared/contract'
import { blameOf, changeAt, containerSummary, entriesOf, hasChangeBelow, indexBlame, indexChanges, inlineValue, pathKey, pathLabel, sortedJson } from './json-tree'

// A cart after AddItem(sku-2), with the coupon removed and the status changed by the same event.
const state = { status: 'open', items: { 'sku-1': { quantity: 1 }, 'sku-2': { quantity: 3 } }, tags: ['gift'] }
const changes: FieldChange[] = [
  { kind: 'added', path: ['items', 'sku-2'], after: { quantity: 3 } },
  { kind: 'changed', path: ['status'], before: 'new', after: 'open' },
  { kind: 'removed', path: ['coupon'], before: { code: 'TEA10' } },
  { kind: 'removed', path: ['tags', 1], before: 'rush' }
]
const index = indexChanges(changes)

describe('the changes of an event in the state tree', () => {
  it('marks the changed node and everything under an added or removed one', () => {
    expect(changeAt(index, ['status'])?.kind).toBe('changed')
    expect(changeAt(index, ['items', 'sku-2'])?.kind).toBe('added')
    expect(changeAt(index, ['items', 'sku-2', 'quantity'])?.kind).toBe('added')
    expect(changeAt(index, ['coupon', 'code'])?.kind).toBe('removed')
    expect(changeAt(index, ['items', 'sku-1', 'quantity'])).toBeNull()
  })

  it('marks what is under a leaf that became an object as added', () => {
    const grown = indexChanges([{ kind: 'changed', path: ['address'], before: null, after: { city: 'Lyon' } }])
    expect(changeAt(grown, ['address'])?.kind).toBe('changed')
    expect(changeAt(grown, ['address', 'city'])?.kind).toBe('added')
  })

  it('knows which containers hold a change, so they open', () => {
    expect(hasChangeBelow(index, [])).toBe(true)
    expect(hasChangeBelow(index, ['items'])).toBe(true)
    expect(hasChangeBelow(index, ['items', 'sku-1'])).toBe(false)
    expect(hasChangeBelow(index, ['status'])).toBe(false)
  })

  it('puts removed fields and items back among the children, struck through', () => {
    const top = entriesOf(state, [], index)
    expect(top.map((e) => [e.key, e.removed])).toEqual([
      ['status', false],
      ['items', false],
      ['tags', false],
      ['coupon', true]
    ])
    expect(top[3].value).toEqual({ code: 'TEA10' })
    expect(entriesOf(state.tags, ['tags'], index).map((e) => [e.key, e.value, e.removed])).toEqual([
      [0, 'gift', false],
      [1, 'rush', true]
    ])
    expect(entriesOf('leaf', ['status'], index)).toEqual([])
  })

  it('keeps an array index apart from an object key of the same digits', () => {
    expect(pathKey(['lines', 0])).not.toBe(pathKey(['lines', '0']))
    const numbered = indexChanges([{ kind: 'removed', path: ['byId', '0'], before: 1 }])
    expect(entriesOf({ '1': 2 }, ['byId'], numbered).map((e) => e.key)).toEqual(['1', '0'])
  })
})

describe('field blame', () => {
  const event = (version: number, type: string) => ({ position: version + 10, version, type, id: `e${version}`, recordedAt: 0 })
  const fields: BlameEntry[] = [
    { path: ['status'], value: 'open', event: event(4, 'CartCheckedOut') },
    { path: ['items', 'sku-1', 'quantity'], value: 1, event: event(2, 'ItemAdded') },
    { path: ['items', 'sku-2', 'quantity'], value: 3, event: event(3, 'ItemAdded') },
    { path: ['currency'], value: 'EUR', event: null }
  ]
  const blame = indexBlame(fields)

  it('names the event that set a field, and none for a value from initialState', () => {
    expect(blameOf(blame, ['status'])?.type).toBe('CartCheckedOut')
    expect(blameOf(blame, ['currency'])).toBeNull()
    expect(blameOf(blame, ['nothing'])).toBeNull()
  })

  it('names the newest event under an object', () => {
    expect(blameOf(blame, ['items'])?.version).toBe(3)
    expect(blameOf(blame, ['items', 'sku-1'])?.version).toBe(2)
    expect(blameOf(blame, [])?.version).toBe(4)
  })
})

describe('showing values', () => {
  it('sorts keys at every depth for a diff', () => {
    expect(sortedJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } })).toBe(
      '{\n  "a": {\n    "c": null,\n    "d": [\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}'
    )
  })

  it('writes paths, folded containers and long values for people', () => {
    expect(pathLabel(['items', 'sku-1', 'quantity'])).toBe('items["sku-1"].quantity')
    expect(pathLabel(['lines', 0, 'sku'])).toBe('lines[0].sku')
    expect(pathLabel([])).toBe('(state)')
    expect(containerSummary({ a: 1, b: 2 })).toBe('{2 keys}')
    expect(containerSummary([1])).toBe('[1 item]')
    expect(inlineValue('x'.repeat(100), 10)).toBe('"xxxxxxxx…')
    expect(inlineValue(undefined)).toBe('undefined')
  })
})
