import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { contract, type JobInfo } from '../../shared/contract'
import { connect } from '../../shared/rpc/client'
import { createMemoryPair } from '../../shared/rpc/memory'
import { serve } from '../../shared/rpc/server'
import { openWorkbench, type Workbench } from '../../main/services'

let dir: string
let workbench: Workbench
let client: ReturnType<typeof connect<typeof contract>>

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'esw-int-'))
  workbench = await openWorkbench({ host: 'test', workspaceDir: join(dir, 'ws') })
  const [a, b] = createMemoryPair()
  serve(workbench.contract, workbench.implementation, a, { events: workbench.events })
  client = connect(contract, b)
})
afterEach(async () => {
  client.close()
  await workbench.close()
  rmSync(dir, { recursive: true, force: true })
})

function waitForJob(id: string, updates: JobInfo[] = []): Promise<JobInfo> {
  return new Promise((resolve) => {
    const stop = client.jobs.on('updated', (job) => {
      if (job.id !== id) return
      updates.push(job)
      if (job.state !== 'running') {
        stop()
        resolve(job)
      }
    })
  })
}

describe('the store service over RPC', () => {
  it('appends, reads and announces appends to subscribers', async () => {
    const notices: unknown[] = []
    client.store.on('appended', (n) => notices.push(n))
    await new Promise((r) => setTimeout(r, 10))
    const result = await client.store.append({ streamId: 'order-1', events: [{ type: 'OrderPlaced', data: { total: 3 } }], expectedVersion: 'no-stream' })
    expect(result).toMatchObject({ nextExpectedVersion: 1, firstPosition: 1 })
    const page = await client.store.readStream({ streamId: 'order-1' })
    expect(page.events[0]).toMatchObject({ type: 'OrderPlaced', data: { total: 3 }, version: 1 })
    await new Promise((r) => setTimeout(r, 20))
    expect(notices).toEqual([{ streamId: 'order-1', firstPosition: 1, lastPosition: 1, count: 1, types: ['OrderPlaced'] }])
  })

  it('names the bad field of an invalid append and stores nothing', async () => {
    const attempt = client.store.append({ streamId: 'order-1', events: [{ type: 'A', data: 'x' as unknown as Record<string, unknown> }] })
    await expect(attempt).rejects.toMatchObject({ code: 'InvalidInput', message: expect.stringContaining('events[0].data') })
    await expect(client.store.append({ streamId: '', events: [{ type: 'A', data: {} }] })).rejects.toMatchObject({ message: expect.stringContaining('streamId') })
    expect((await client.store.stats()).events).toBe(0)
  })

  it('reports a version conflict with the stream, expected and actual version', async () => {
    await client.store.append({ streamId: 'order-1', events: [{ type: 'A', data: {} }] })
    await expect(client.store.append({ streamId: 'order-1', events: [{ type: 'B', data: {} }], expectedVersion: 0 })).rejects.toMatchObject({
      code: 'WrongExpectedVersion',
      message: 'Wrong expected version for stream order-1: expected 0, actual 1',
      details: { streamId: 'order-1', expected: 0, actual: 1 }
    })
  })

  it('exports in a worker with progress, then imports the upload into another workspace', async () => {
    for (let i = 0; i < 30; i++) await client.store.append({ streamId: `order-${i % 4}`, events: [{ type: 'E', data: { i } }] })
    const started = await client.jobs.startExport({ filter: { category: 'order' } })
    const updates: JobInfo[] = []
    const done = await waitForJob(started.id, updates)
    expect(done).toMatchObject({ state: 'succeeded', kind: 'export', done: 30, total: 30 })
    const result = done.result as { file: string; events: number }
    expect(result.events).toBe(30)
    const text = readFileSync(result.file, 'utf8')
    expect(text.trim().split('\n')).toHaveLength(30)

    const other = await openWorkbench({ host: 'test', workspaceDir: join(dir, 'other') })
    const [a, b] = createMemoryPair()
    serve(other.contract, other.implementation, a, { events: other.events })
    const otherClient = connect(contract, b)
    const { uploadId } = await otherClient.jobs.beginUpload({ fileName: 'x.ndjson', bytes: text.length })
    const half = Math.floor(text.length / 2)
    await otherClient.jobs.uploadChunk({ uploadId, text: text.slice(0, half) })
    await otherClient.jobs.uploadChunk({ uploadId, text: text.slice(half) })
    const job = await otherClient.jobs.startImport({ uploadId })
    const finished = await new Promise<JobInfo>((resolve) => {
      const stop = otherClient.jobs.on('updated', (j) => {
        if (j.id === job.id && j.state !== 'running') {
          stop()
          resolve(j)
        }
      })
    })
    expect(finished).toMatchObject({ state: 'succeeded', result: { events: 30, mode: 'restore' } })
    expect((await otherClient.store.readAll({ limit: 100 })).events).toEqual((await client.store.readAll({ limit: 100 })).events)
    otherClient.close()
    await other.close()
  })

  it('fails an import at the bad line and leaves the store as it was', async () => {
    await client.store.append({ streamId: 'keep-1', events: [{ type: 'Kept', data: {} }] })
    const { uploadId } = await client.jobs.beginUpload({ fileName: 'bad.ndjson', bytes: 10 })
    const good = (v: number) =>
      JSON.stringify({ position: v, streamId: 'new-1', version: v, type: 'E', schemaVersion: 1, id: crypto.randomUUID(), data: {}, metadata: null, recordedAt: new Date().toISOString() })
    await client.jobs.uploadChunk({ uploadId, text: [good(1), good(2), '{"broken"'].join('\n') })
    const job = await client.jobs.startImport({ uploadId })
    const finished = await waitForJob(job.id)
    expect(finished.state).toBe('failed')
    expect(finished.error).toMatchObject({ code: 'InvalidInput', message: expect.stringContaining('Line 3') })
    expect((await client.store.stats()).events).toBe(1)
  })

  it('runs a scavenge job and reports what it removed', async () => {
    await client.store.append({ streamId: 'gone-1', events: [{ type: 'A', data: {} }, { type: 'B', data: {} }] })
    await client.store.deleteStream({ streamId: 'gone-1', mode: 'tombstone' })
    await client.store.append({ streamId: 'kept-1', events: [{ type: 'C', data: {} }] })
    const job = await client.jobs.startScavenge()
    const finished = await waitForJob(job.id)
    expect(finished).toMatchObject({ state: 'succeeded', result: { removedEvents: 2 } })
  })
})
