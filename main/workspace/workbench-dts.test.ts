import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { WORKBENCH_DTS } from './workbench-dts'

/** Type-checks files the way the editor does: against workbench.d.ts and nothing else from the host. */
export function typeCheck(files: Record<string, string>, extraDts = ''): string[] {
  const all: Record<string, string> = { '/workbench.d.ts': WORKBENCH_DTS, '/events.d.ts': extraDts, ...Object.fromEntries(Object.entries(files).map(([k, v]) => [`/${k}`, v])) }
  const options: ts.CompilerOptions = { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, noEmit: true, lib: ['lib.es2022.d.ts'], types: [] }
  const host = ts.createCompilerHost(options)
  const original = host.getSourceFile.bind(host)
  host.getSourceFile = (name, version) => (all[name] !== undefined ? ts.createSourceFile(name, all[name], version) : original(name, version))
  host.fileExists = (name) => all[name] !== undefined || ts.sys.fileExists(name)
  host.readFile = (name) => all[name] ?? ts.sys.readFile(name)
  const program = ts.createProgram(Object.keys(all), options, host)
  return ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ''}:${d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : ''} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)
}

const sample = `import { defineDecider, reject, z } from 'workbench'

const addItem = z.object({ cartId: z.string().min(1), sku: z.string(), quantity: z.number().int().positive(), note: z.string().optional() })
type State = { items: Record<string, number>; open: boolean }

export default defineDecider({
  name: 'carts',
  streamPrefix: 'cart',
  commands: { AddItem: addItem, Close: z.object({ cartId: z.string() }), Pick: z.object({ cartId: z.string(), mode: z.enum(['a', 'b']) }) },
  streamId: (c) => 'cart-' + c.data.cartId,
  initialState: (): State => ({ items: {}, open: true }),
  evolve: (state, event) => (event.type === 'ItemAdded' ? { ...state, items: { ...state.items, [String(event.data.sku)]: 1 } } : state),
  decide: (command, state) => {
    if (!state.open) reject('CartClosed', 'closed')
    if (command.type === 'AddItem') {
      const q: number = command.data.quantity
      return { type: 'ItemAdded', data: { sku: command.data.sku, quantity: q } }
    }
    if (command.type === 'Pick') {
      const m: 'a' | 'b' = command.data.mode
      return { type: 'Picked', data: { m } }
    }
    return []
  }
})
`

describe('the editor typings of the workbench module', () => {
  it('type-check a decider that uses the API and zod', () => {
    expect(typeCheck({ 'domain/carts.ts': sample })).toEqual([])
  })

  it('catch a wrong use', () => {
    const wrong = sample.replace('const q: number = command.data.quantity', 'const q: string = command.data.quantity')
    expect(typeCheck({ 'domain/carts.ts': wrong }).join('\n')).toMatch(/not assignable to type 'string'/)
  })

  it('type-check the demo workspace files', () => {
    const dir = join(__dirname, 'demo', 'template', 'domain')
    if (!existsSync(dir)) return
    const files = Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => [`domain/${f}`, readFileSync(join(dir, f), 'utf8')]))
    expect(typeCheck(files)).toEqual([])
  })
})

describe('event typings from the log', () => {
  it('declare each event type and schema version so event.data completes, and catch a wrong field', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { SqliteEventStore } = await import('../store/sqlite-store')
    const { eventTypings } = await import('./event-typings')
    const { SchemaInference } = await import('../versioning/schemas')
    const dir = mkdtempSync(join(tmpdir(), 'esw-typings-'))
    const store = new SqliteEventStore(join(dir, 'events.db'))
    await store.appendToStream('cart-1', [
      { type: 'ItemAdded', data: { sku: 'a', quantity: 1, price: '1.50' }, schemaVersion: 1 },
      { type: 'ItemAdded', data: { sku: 'b', quantity: 2, priceCents: 150, note: 'x' }, schemaVersion: 2 },
      { type: 'ItemAdded', data: { sku: 'c', quantity: 2, priceCents: 150 }, schemaVersion: 2 }
    ])
    const inference = new SchemaInference(store)
    inference.catchUpSync()
    const dts = eventTypings(inference.list())
    await store.close()
    rmSync(dir, { recursive: true, force: true })
    expect(dts).toContain('"ItemAdded": { schemaVersion: 1;')
    expect(dts).toMatch(/note\?: string/)
    const use = (body: string) => `import { defineDecider, z } from 'workbench'
export default defineDecider({
  name: 'c', streamPrefix: 'cart', commands: { A: z.object({ id: z.string() }) },
  initialState: () => ({ cents: 0 }),
  evolve: (state, event) => {
    if (event.type === 'ItemAdded' && event.schemaVersion === 2) ${body}
    return state
  },
  decide: () => []
})
`
    expect(typeCheck({ 'domain/c.ts': use('return { cents: state.cents + event.data.priceCents }') }, dts)).toEqual([])
    expect(typeCheck({ 'domain/c.ts': use('return { cents: state.cents + event.data.price }') }, dts).join('\n')).toMatch(/price/)
  })

  it('declare nested objects, arrays of objects, unions with null and map-like objects', async () => {
    const { eventTypings } = await import('./event-typings')
    const { emptyShape, observe, toInferredShape, MAX_FIELDS } = await import('../versioning/inferred-shape')
    const shape = emptyShape()
    const stock = Object.fromEntries(Array.from({ length: MAX_FIELDS + 1 }, (_, i) => [`sku ${i}`, i]))
    observe(shape, { lines: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 2, gift: true }], address: { zip: 69001 }, note: null, stock, tags: [] })
    observe(shape, { lines: [], address: { zip: '0150' }, note: 'ring', stock: {}, tags: [] })
    const dts = eventTypings([{ type: 'OrderPlaced', schemaVersion: 1, count: 2, firstPosition: 1, lastPosition: 2, firstRecordedAt: 0, lastRecordedAt: 0, shape: toInferredShape(shape), examples: [] }])
    const use = (body: string) => `import { defineDecider, z } from 'workbench'
export default defineDecider({
  name: 'o', streamPrefix: 'order', commands: { A: z.object({ id: z.string() }) },
  initialState: () => ({ n: 0 }),
  evolve: (state, event) => {
    if (event.type === 'OrderPlaced') { ${body} }
    return state
  },
  decide: () => []
})
`
    const fine = [
      'const qty: number = event.data.lines[0].qty',
      'const gift: boolean | undefined = event.data.lines[0].gift',
      'const zip: string | number = event.data.address.zip',
      'const note: string | null = event.data.note',
      "const one: unknown = event.data.stock['sku 0']",
      'const more: unknown = event.data.stock.anything',
      'const tags: unknown[] = event.data.tags'
    ]
    expect(typeCheck({ 'domain/o.ts': use(fine.join('\n')) }, dts)).toEqual([])
    expect(typeCheck({ 'domain/o.ts': use('const zip: string = event.data.address.zip') }, dts).join('\n')).toMatch(/number.*not assignable to type 'string'/)
    expect(typeCheck({ 'domain/o.ts': use('const gift: boolean = event.data.lines[0].gift') }, dts).join('\n')).toMatch(/undefined/)
  })
})
