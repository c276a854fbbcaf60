import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { workerScript } from '../../main/jobs/worker-path'
import { SqliteEventStore } from '../../main/store/sqlite-store'

let dir: string
let child: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'esw-proc-'))
  child = workerScript('store-child', join(__dirname, 'fixtures', 'store-child.ts'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function start(args: string[]): { process: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const p = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  p.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)))
  return { process: p, output: () => out, exited }
}

const idFor = (tag: string, batch: number, i: number) => `${tag}-0000-4000-8000-${(batch * 100 + i).toString(16).padStart(12, '0')}`

async function readEverything(store: SqliteEventStore) {
  const out = []
  let from: number | null = 1
  while (from !== null) {
    const page: Awaited<ReturnType<SqliteEventStore['readAll']>> = await store.readAll({ from, limit: 1000 })
    out.push(...page.events)
    from = page.next
  }
  return out
}

function integrity(file: string): string {
  const db = new Database(file, { readonly: true })
  try {
    return db.pragma('integrity_check', { simple: true }) as string
  } finally {
    db.close()
  }
}

describe('crash safety', () => {
  it('leaves every batch appended by a killed process wholly there or wholly absent (12 trials)', async () => {
    for (let trial = 0; trial < 12; trial++) {
      const file = join(dir, `crash-${trial}.db`)
      new SqliteEventStore(file).close()
      const tag = (0x10000000 + trial).toString(16)
      const run = start(['append-batches', file, '400', tag])
      // Kill at a random moment once it has started writing.
      while (!run.output().includes('acked 0')) await new Promise((r) => setTimeout(r, 2))
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 60)))
      run.process.kill('SIGKILL')
      await run.exited
      const acked = [...run.output().matchAll(/acked (\d+)/g)].map((m) => Number(m[1]))
      expect(integrity(file)).toBe('ok')
      const store = new SqliteEventStore(file)
      const all = await readEverything(store)
      const ids = new Set(all.map((e) => e.id))
      for (let b = 0; b < 400; b++) {
        const present = Array.from({ length: 10 }, (_, i) => ids.has(idFor(tag, b, i))).filter(Boolean).length
        expect([0, 10], `trial ${trial}, batch ${b}`).toContain(present)
        if (acked.includes(b)) expect(present, `acked batch ${b} must be stored`).toBe(10)
      }
      const positions = all.map((e) => e.position)
      expect(positions).toEqual(positions.map((_, i) => i + 1))
      await store.close()
    }
  }, 120_000)

  it('leaves the store as it was when an importing process is killed (10 trials)', async () => {
    const source = join(dir, 'import-source.ndjson')
    const lines: string[] = []
    for (let i = 1; i <= 20_000; i++) {
      lines.push(JSON.stringify({ position: i, streamId: `imp-${i % 50}`, version: Math.floor((i - 1) / 50) + 1, type: 'Imported', schemaVersion: 1, id: idFor('20000000', i, 0), data: { i, pad: 'y'.repeat(150) }, metadata: null, recordedAt: new Date(1_700_000_000_000 + i).toISOString() }))
    }
    writeFileSync(source, lines.join('\n') + '\n')
    let interrupted = 0
    for (let trial = 0; trial < 10; trial++) {
      const file = join(dir, `import-${trial}.db`)
      new SqliteEventStore(file).close()
      const run = start(['import', file, source])
      while (!run.output().includes('importing')) await new Promise((r) => setTimeout(r, 2))
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 150)))
      run.process.kill('SIGKILL')
      await run.exited
      expect(integrity(file)).toBe('ok')
      const store = new SqliteEventStore(file)
      const count = (await store.stats()).events
      expect([0, 20_000]).toContain(count)
      if (count === 0) interrupted++
      if (count === 0) expect((await store.listStreams()).total).toBe(0)
      await store.close()
    }
    expect(interrupted).toBeGreaterThan(0)
  }, 120_000)
})

describe('subscriptions across processes', () => {
  it('delivers events appended by another process, in order, with no gap and no duplicate', async () => {
    const file = join(dir, 'follow.db')
    const store = new SqliteEventStore(file, { pollIntervalMs: 20 })
    const seen: number[] = []
    const sub = store.subscribe({}, (e) => {
      seen.push(e.position)
    })
    await sub.caughtUp
    const run = start(['append-batches', file, '30', '30000000'])
    expect(await run.exited).toBe(0)
    const deadline = Date.now() + 10_000
    while (seen.length < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(seen).toEqual(Array.from({ length: 300 }, (_, i) => i + 1))
    sub.close()
    await store.close()
  }, 30_000)
})

describe('contention across processes', () => {
  it('keeps versions contiguous with 4 processes × 500 exact-version appends to the same streams', async () => {
    const file = join(dir, 'contention.db')
    new SqliteEventStore(file).close()
    const runs = Array.from({ length: 4 }, (_, w) => start(['contend', file, '500', `w${w}`]))
    const codes = await Promise.all(runs.map((r) => r.exited))
    expect(codes).toEqual([0, 0, 0, 0])
    const outcomes = runs.flatMap((r) => r.output().trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; id?: string; code?: string }))
    expect(outcomes).toHaveLength(2000)
    const refusals = outcomes.filter((o) => !o.ok)
    expect(refusals.every((o) => o.code === 'WrongExpectedVersion')).toBe(true)
    const acked = outcomes.filter((o) => o.ok).map((o) => o.id!)
    const store = new SqliteEventStore(file)
    const all = await readEverything(store)
    expect(all).toHaveLength(acked.length)
    const stored = all.map((e) => e.id)
    expect(new Set(stored).size).toBe(stored.length)
    expect([...stored].sort()).toEqual([...acked].sort())
    for (let s = 0; s < 3; s++) {
      const versions = all.filter((e) => e.streamId === `contended-${s}`).map((e) => e.version)
      expect(versions).toEqual(versions.map((_, i) => i + 1))
    }
    await store.close()
  }, 120_000)
})
