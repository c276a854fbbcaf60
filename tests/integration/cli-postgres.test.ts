import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { workerScript } from '../../main/jobs/worker-path'
import { pgBinaries, startPgTestServer, stopPgTestServer, type PgTestServer } from '../../main/store/postgres-test-server'

let server: PgTestServer | undefined
let dir: string
let cli: string

function esw(args: string[], options: { input?: string; password?: string | null } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, ESW_HOME: join(dir, 'home') }
  delete env.ESW_PG_PASSWORD
  if (options.password !== null) env.ESW_PG_PASSWORD = options.password ?? server!.password
  const r = spawnSync(process.execPath, [cli, ...args], { input: options.input, encoding: 'utf8', env })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
const ndjson = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)

describe.skipIf(!pgBinaries)('esw on a workspace whose log lives in PostgreSQL', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    server = await startPgTestServer()
    dir = mkdtempSync(join(tmpdir(), 'esw-cli-pg-'))
    cli = workerScript('cli', join(__dirname, '..', '..', 'main', 'cli', 'main.ts'))
  })
  afterAll(() => {
    stopPgTestServer(server)
    rmSync(dir, { recursive: true, force: true })
  })

  it('inits with --postgres (the password from ESW_PG_PASSWORD only), and appends, reads, lists, counts and imports through the server', () => {
    const a = join(dir, 'team-a')
    const withPassword = server!.url.replace('://', '://postgres:secret@')
    const refused = esw(['init', a, '--postgres', withPassword])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain('password')
    expect(existsSync(a)).toBe(false)
    const noPassword = esw(['init', a, '--postgres', server!.url, '--schema', 'cli'], { password: null })
    expect(noPassword.code).not.toBe(0)
    expect(noPassword.stderr).toContain('ESW_PG_PASSWORD')
    expect(existsSync(a)).toBe(false)

    const init = esw(['init', a, '--postgres', server!.url, '--schema', 'cli'])
    expect(init.code).toBe(0)
    expect(JSON.parse(init.stdout)).toMatchObject({ workspace: a, schema: 'cli', events: 0 })
    const config = readFileSync(join(a, 'workbench.json'), 'utf8')
    expect(JSON.parse(config).store).toEqual({ kind: 'postgres', url: server!.url, schema: 'cli' })
    expect(config).not.toContain(server!.password)

    const appended = esw(['append', a, 'order-1', '--expected-version', 'no-stream'], { input: '{"type":"OrderPlaced","data":{"total":5}}\n{"type":"ItemAdded","data":{"sku":"a"}}\n' })
    expect(appended.code).toBe(0)
    expect(JSON.parse(appended.stdout)).toMatchObject({ nextExpectedVersion: 2, firstPosition: 1, lastPosition: 2 })

    // A second workspace on the same store sees the log at once.
    const b = join(dir, 'team-b')
    expect(esw(['init', b, '--postgres', server!.url, '--schema', 'cli']).code).toBe(0)
    expect(ndjson(esw(['read', b, 'order-1']).stdout).map((e) => e.type)).toEqual(['OrderPlaced', 'ItemAdded'])
    const conflict = esw(['append', b, 'order-1', '--expected-version', '1'], { input: '{"type":"OrderPaid","data":{}}\n' })
    expect(conflict.code).not.toBe(0)
    expect(conflict.stderr).toContain('actual 2')
    expect(esw(['append', b, 'order-1', '--expected-version', '2'], { input: '{"type":"OrderPaid","data":{}}\n' }).code).toBe(0)
    expect(ndjson(esw(['read', a, 'order-1']).stdout).map((e) => e.type)).toEqual(['OrderPlaced', 'ItemAdded', 'OrderPaid'])
    expect(ndjson(esw(['streams', a]).stdout).map((s) => [s.streamId, s.version])).toEqual([['order-1', 3]])
    expect(JSON.parse(esw(['stats', b]).stdout)).toMatchObject({ events: 3, streams: 1 })

    // An import goes to the server; a bad line stores nothing and names the line.
    const line = (version: number) => JSON.stringify({ position: 1000 + version, streamId: 'order-1', version, type: 'Shipped', schemaVersion: 1, id: randomUUID(), data: {}, metadata: null, recordedAt: '2026-11-01T00:00:00.000Z' })
    const bad = esw(['import', a], { input: `${line(4)}\n{"streamId":"order-1"}\n` })
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toContain('Line 2')
    const imported = esw(['import', a], { input: `${line(4)}\n${line(5)}\n` })
    expect(imported.code).toBe(0)
    expect(imported.stderr).toContain('imported 2 events')
    expect(ndjson(esw(['read', b, 'order-1']).stdout).map((e) => e.type)).toEqual(['OrderPlaced', 'ItemAdded', 'OrderPaid', 'Shipped', 'Shipped'])

    // esw projections catches up and publishes the read models to the server before it answers.
    mkdirSync(join(a, 'projections'))
    writeFileSync(
      join(a, 'projections', 'shipments.ts'),
      `import { defineProjection } from 'workbench'
export default defineProjection({
  name: 'shipments',
  from: { eventTypes: ['Shipped'] },
  tables: { streams: { columns: { streamId: 'text', shipped: 'integer' }, key: ['streamId'] } },
  handlers: { Shipped(event, ctx) { ctx.upsert('streams', { streamId: event.streamId, shipped: (ctx.get('streams', event.streamId)?.shipped ?? 0) + 1 }) } }
})
`
    )
    expect(esw(['trust', a]).code).toBe(0)
    const listed = esw(['projections', a])
    expect(listed.stderr).toBe('')
    expect(ndjson(listed.stdout)).toEqual([expect.objectContaining({ name: 'shipments', position: 5, server: expect.objectContaining({ state: 'published', position: 5 }) })])
  })
})
