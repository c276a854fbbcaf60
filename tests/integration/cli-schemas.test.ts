import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventSchema, SchemaDrift } from '../../shared/contract/versioning'
import { workerScript } from '../../main/jobs/worker-path'
import { SqliteEventStore } from '../../main/store/sqlite-store'
import { SchemaInference } from '../../main/versioning/schemas'

let dir: string
let cli: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'esw-cli-schemas-'))
  cli = workerScript('cli', join(__dirname, '..', '..', 'main', 'cli', 'main.ts'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function esw(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [cli, ...args], { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

function eswAsync(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cli, ...args])
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    p.on('close', (code) => resolve({ code, stdout, stderr }))
    p.stdin.end(input ?? '')
  })
}

const lines = (n: number, offset: number) =>
  Array.from({ length: n }, (_, i) => {
    const k = i + offset
    return JSON.stringify(k % 3 === 0 ? { type: 'ItemAdded', schemaVersion: 1, data: { sku: `s${k % 7}`, price: '1.50' } } : { type: 'ItemAdded', schemaVersion: 2, data: { sku: `s${k % 7}`, priceCents: k, ...(k % 2 ? { note: 'gift' } : {}) } })
  }).join('\n') + '\n'

describe('esw schemas', () => {
  it('prints the inferred shapes per type and version as JSON, filters by type, and charts drift', () => {
    const ws = join(dir, 'shop')
    expect(esw(['init', ws]).code).toBe(0)
    expect(esw(['append', ws, 'cart-1'], lines(6, 0)).code).toBe(0)
    expect(esw(['append', ws, 'order-1'], '{"type":"OrderPlaced","data":{"lines":[{"sku":"a","qty":1}],"total":null}}\n').code).toBe(0)
    const all = esw(['schemas', ws])
    expect(all.code).toBe(0)
    const schemas = JSON.parse(all.stdout) as EventSchema[]
    expect(schemas.map((s) => [s.type, s.schemaVersion, s.count])).toEqual([
      ['ItemAdded', 1, 2],
      ['ItemAdded', 2, 4],
      ['OrderPlaced', 1, 1]
    ])
    expect(schemas[1].shape.fields).toEqual([
      expect.objectContaining({ name: 'sku', optional: false }),
      expect.objectContaining({ name: 'priceCents', optional: false }),
      expect.objectContaining({ name: 'note', optional: true })
    ])
    const orders = JSON.parse(esw(['schemas', ws, '--type', 'OrderPlaced']).stdout) as EventSchema[]
    expect(orders).toHaveLength(1)
    expect(orders[0].shape.fields?.[0]).toMatchObject({ name: 'lines', shape: { types: { array: 1 }, items: { types: { object: 1 } } } })
    const drift = JSON.parse(esw(['schemas', ws, '--type', 'ItemAdded', '--drift']).stdout) as SchemaDrift
    expect(drift.versions).toEqual([1, 2])
    expect(drift.buckets.reduce((n, b) => n + b.total, 0)).toBe(6)
  })

  it('refuses bad usage with exit code 2', () => {
    expect(esw(['schemas']).code).toBe(2)
    const r = esw(['schemas', join(dir, 'shop'), '--drift'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--drift needs --type')
  })

  it('gives the one-pass result when several processes catch up at once while another appends', async () => {
    const ws = join(dir, 'busy')
    esw(['init', ws])
    expect(esw(['append', ws, 'cart-1'], lines(20_000, 0)).code).toBe(0)
    const runs = await Promise.all([
      eswAsync(['schemas', ws]),
      eswAsync(['schemas', ws]),
      eswAsync(['append', ws, 'cart-2'], lines(5_000, 20_000)),
      eswAsync(['schemas', ws, '--type', 'ItemAdded'])
    ])
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0])
    const last = JSON.parse(esw(['schemas', ws]).stdout) as EventSchema[]
    expect(last.reduce((n, s) => n + s.count, 0)).toBe(25_000)
    const store = new SqliteEventStore(join(ws, 'events.db'))
    try {
      const inference = new SchemaInference(store)
      const drift = inference.drift('ItemAdded')
      inference.reset()
      inference.catchUpSync()
      expect(inference.list()).toEqual(last)
      expect(inference.drift('ItemAdded')).toEqual(drift)
    } finally {
      await store.close()
    }
  })
})
