import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { workerScript } from '../../main/jobs/worker-path'

let dir: string
let cli: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'esw-cli-'))
  cli = workerScript('cli', join(__dirname, '..', '..', 'main', 'cli', 'main.ts'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function esw(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [cli, ...args], { input, encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
const ndjson = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)

describe('esw', () => {
  it('prints help and refuses an unknown command with exit code 2', () => {
    expect(esw(['--help']).stdout).toContain('esw <command>')
    const r = esw(['frobnicate'])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain("unknown command 'frobnicate'")
  })

  it('inits a workspace, appends from stdin, reads, lists and counts', () => {
    const ws = join(dir, 'shop')
    expect(esw(['init', ws]).code).toBe(0)
    const appended = esw(['append', ws, 'order-1', '--expected-version', 'no-stream'], '{"type":"OrderPlaced","data":{"total":5}}\n{"type":"ItemAdded","data":{"sku":"a"}}\n')
    expect(appended.code).toBe(0)
    expect(JSON.parse(appended.stdout)).toMatchObject({ streamId: 'order-1', nextExpectedVersion: 2, firstPosition: 1, lastPosition: 2 })
    esw(['append', ws, 'cart-9'], '{"type":"CartOpened","data":{}}\n')
    expect(ndjson(esw(['read', ws, 'order-1']).stdout).map((e) => e.type)).toEqual(['OrderPlaced', 'ItemAdded'])
    expect(ndjson(esw(['read', ws, 'order-1', '--backwards', '--limit', '1']).stdout).map((e) => e.version)).toEqual([2])
    expect(ndjson(esw(['read', ws, 'order-1', '--from', '2']).stdout).map((e) => e.version)).toEqual([2])
    expect(ndjson(esw(['streams', ws, '--category', 'order']).stdout).map((s) => s.streamId)).toEqual(['order-1'])
    expect(JSON.parse(esw(['stats', ws]).stdout)).toMatchObject({ events: 3, streams: 2 })
  })

  it('reports a version conflict on stderr with exit code 1 and prints no data', () => {
    const ws = join(dir, 'conflict')
    esw(['init', ws])
    esw(['append', ws, 'order-1'], '{"type":"A","data":{}}\n')
    const r = esw(['append', ws, 'order-1', '--expected-version', '0'], '{"type":"B","data":{}}\n')
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('WrongExpectedVersion: Wrong expected version for stream order-1: expected 0, actual 1')
  })

  it('exports with filters to a file and imports it into another workspace, byte for byte', () => {
    const a = join(dir, 'a')
    const b = join(dir, 'b')
    esw(['init', a])
    esw(['init', b])
    for (let i = 0; i < 5; i++) esw(['append', a, `order-${i % 2}`], `{"type":"E${i % 2}","data":{"i":${i}}}\n`)
    const file = join(dir, 'all.ndjson')
    expect(esw(['export', a, '--out', file]).code).toBe(0)
    expect(ndjson(esw(['export', a, '--type', 'E1']).stdout)).toHaveLength(2)
    expect(ndjson(esw(['export', a, '--stream', 'order-0', '--from-position', '2']).stdout).map((e) => e.position)).toEqual([3, 5])
    const imported = esw(['import', b, file])
    expect(imported.code).toBe(0)
    expect(imported.stderr).toContain('imported 5 events into 2 streams (restore)')
    expect(esw(['export', b]).stdout).toBe(readFileSync(file, 'utf8'))
    expect(esw(['import', b], readFileSync(file, 'utf8')).stderr).toContain('5 already stored')
  })

  it('fails an import at the bad line and changes nothing', () => {
    const ws = join(dir, 'bad-import')
    esw(['init', ws])
    const file = join(dir, 'bad.ndjson')
    writeFileSync(file, '{"position":1,"streamId":"s-1","version":1,"type":"A","schemaVersion":1,"id":"0190a000-0000-7000-8000-000000000001","data":{},"metadata":null,"recordedAt":"2026-01-01T00:00:00.000Z"}\nnot json\n')
    const r = esw(['import', ws, file])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('Line 2: not valid JSON')
    expect(JSON.parse(esw(['stats', ws]).stdout).events).toBe(0)
  })

  it('says when a folder is not a workspace', () => {
    const r = esw(['stats', join(dir, 'nothing-here')])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('is not a workspace')
  })
})

describe('esw on the command side', () => {
  it('creates the demo, sends a command a rule refuses, and replays a stream', () => {
    const ws = join(dir, 'demo')
    const made = esw(['demo', ws, '--events', '600'])
    expect(made.code).toBe(0)
    expect(JSON.parse(made.stdout)).toMatchObject({ events: expect.any(Number), rejected: expect.any(Number) })
    const refused = esw(['command', ws, 'payments', 'ChargePayment', JSON.stringify({ orderId: 'big-1', customerId: 'c-1', amountCents: 900_000 })])
    expect(refused.code).toBe(1)
    expect(JSON.parse(refused.stdout)).toMatchObject({ outcome: 'rejected', rule: 'PaymentLimit' })
    expect(refused.stderr).toContain('PaymentLimit')
    const invalid = esw(['command', ws, 'payments', 'ChargePayment', '{"orderId": 5}'])
    expect(invalid.code).toBe(1)
    expect(invalid.stderr).toContain('InvalidInput: Invalid ChargePayment command: orderId')
    const order = ndjson(esw(['streams', ws, '--category', 'order']).stdout)[0].streamId as string
    const state = JSON.parse(esw(['replay', ws, order, '--at-version', '1']).stdout)
    expect(state).toMatchObject({ streamId: order, decider: 'orders', version: 1, event: { version: 1 } })
    const steps = ndjson(esw(['replay', ws, order, '--steps']).stdout)
    expect(steps[0]).toMatchObject({ event: { version: 1 }, changes: expect.any(Array) })
  }, 60_000)
})

describe('esw on the query side', () => {
  it('lists projections, rebuilds one, runs a named query and checks determinism', () => {
    const ws = join(dir, 'demo-projections')
    expect(esw(['demo', ws, '--events', '600']).code).toBe(0)
    const list = ndjson(esw(['projections', ws]).stdout)
    expect(list.map((p) => p.name).sort()).toEqual(['customer_history', 'inventory_levels', 'order_summary', 'revenue_per_day'])
    expect(list.every((p) => p.lagEvents === 0)).toBe(true)
    const rebuilt = esw(['project', ws, 'order_summary', '--rebuild'])
    expect(rebuilt.code).toBe(0)
    expect(JSON.parse(rebuilt.stdout)).toMatchObject({ name: 'order_summary', lagEvents: 0 })
    const queried = esw(['query', ws, 'order_summary', 'byStatus', '{"status":"shipped"}'])
    expect(queried.code).toBe(0)
    const rows = ndjson(queried.stdout)
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.every((r) => r.status === 'shipped')).toBe(true)
    expect(queried.stderr).toMatch(/order_summary is at position \d+ of \d+ \(0 events behind\)/)
    expect(esw(['query', ws, 'order_summary', 'byStatus', '{"status":"lost"}']).stderr).toContain('InvalidInput')
    const checked = esw(['check', ws, 'order_summary', '--determinism'])
    expect(checked.code).toBe(0)
    expect(JSON.parse(checked.stdout)).toMatchObject({ check: 'determinism', passed: true })
    expect(esw(['check', ws, 'order_summary']).code).toBe(2)
  }, 120_000)
})
