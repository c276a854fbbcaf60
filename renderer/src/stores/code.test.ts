import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { WorkspaceState } from '../../../shared/contract'
import { RpcError } from '../../../shared/rpc/errors'
import { newFilePath, projectionName, templateFor, useCodeStore } from './code'
import { fakeClient, installFakeClient, workspaceState, type FakeClient } from './fake-client'
import { useWorkspaceStore } from './workspace'

beforeEach(() => setActivePinia(createPinia()))

const settle = () => new Promise((r) => setTimeout(r, 0))
const orders = (modifiedAt: number, extra: Partial<WorkspaceState> = {}) =>
  workspaceState({ files: [{ path: 'domain/orders.ts', kind: 'domain', modifiedAt }, { path: 'projections/sales.ts', kind: 'projections', modifiedAt: 1 }], ...extra })

/** A client with a workspace holding domain/orders.ts, whose text and time the test can change. */
async function setup(methods: Record<string, (input?: never) => Promise<unknown>> = {}) {
  const disk = { source: 'v1', modifiedAt: 100 }
  const readFile = vi.fn(async () => ({ path: 'domain/orders.ts', ...disk }))
  const fake: FakeClient = fakeClient({
    workspace: { state: vi.fn().mockResolvedValue(orders(100)), recent: vi.fn().mockResolvedValue([]), readFile, ...methods }
  })
  installFakeClient(fake)
  await useWorkspaceStore().open()
  const code = useCodeStore('domain')
  return { fake, code, disk, readFile }
}

describe('the code panel of a kind', () => {
  it('lists the files of its kind only', async () => {
    const { code } = await setup()
    expect(code.files.map((f) => f.path)).toEqual(['domain/orders.ts'])
  })

  it('opens a file, marks it unsaved while edited, and saves it', async () => {
    const saveFile = vi.fn().mockResolvedValue(orders(200, { revision: 2, problems: [{ file: 'domain/orders.ts', line: 3, column: 1, message: 'boom', severity: 'error' }] }))
    const { code } = await setup({ saveFile })
    await code.openFile('domain/orders.ts')
    expect(code.current?.source).toBe('v1')
    expect(code.currentDirty).toBe(false)
    code.edit('v2')
    expect(code.currentDirty).toBe(true)
    expect(code.dirty('domain/orders.ts')).toBe(true)
    await code.save()
    expect(saveFile).toHaveBeenCalledWith({ path: 'domain/orders.ts', source: 'v2' })
    expect(code.currentDirty).toBe(false)
    expect(code.current?.modifiedAt).toBe(200)
    // The engine's answer to the save is the workspace's state now: its problems show at once.
    expect(code.problems.map((p) => [p.line, p.message])).toEqual([[3, 'boom']])
    expect(useWorkspaceStore().state?.revision).toBe(2)
    // Panels follow saves through the files a state changed (the Projections panel starts a shadow run).
    expect(useWorkspaceStore().changed).toMatchObject({ paths: ['domain/orders.ts'], revision: 2 })
  })

  it('keeps the edits when a save fails, and says why', async () => {
    const { code } = await setup({ saveFile: () => Promise.reject(new RpcError('InvalidInput', 'Invalid definition file path')) })
    await code.openFile('domain/orders.ts')
    code.edit('v2')
    await code.save()
    expect(code.error).toBe('Could not save domain/orders.ts: Invalid definition file path')
    expect(code.current?.source).toBe('v2')
    expect(code.currentDirty).toBe(true)
  })

  it('reloads a file changed on disk when it has no unsaved edits', async () => {
    const { fake, code, disk } = await setup()
    await code.openFile('domain/orders.ts')
    Object.assign(disk, { source: 'from disk', modifiedAt: 300 })
    fake.emit('workspace', 'changed', orders(300, { revision: 2 }))
    await settle()
    await settle()
    expect(code.current?.source).toBe('from disk')
    expect(code.currentDirty).toBe(false)
  })

  it('keeps unsaved edits when the file changes on disk, and lets the person choose', async () => {
    const { fake, code, disk, readFile } = await setup()
    await code.openFile('domain/orders.ts')
    code.edit('mine')
    Object.assign(disk, { source: 'theirs', modifiedAt: 300 })
    fake.emit('workspace', 'changed', orders(300, { revision: 2 }))
    await settle()
    expect(code.current?.changedOnDisk).toBe(true)
    expect(code.current?.source).toBe('mine')
    expect(readFile).toHaveBeenCalledTimes(1)
    code.keepMine()
    expect(code.current?.changedOnDisk).toBe(false)
    expect(code.current?.source).toBe('mine')
    await code.revert()
    expect(code.current?.source).toBe('theirs')
    expect(code.currentDirty).toBe(false)
  })

  it('does not reload a file for the echo of its own save', async () => {
    const saveFile = vi.fn().mockResolvedValue(orders(200, { revision: 2 }))
    const { fake, code, readFile } = await setup({ saveFile })
    await code.openFile('domain/orders.ts')
    code.edit('v2')
    await code.save()
    fake.emit('workspace', 'changed', orders(200, { revision: 3 }))
    await settle()
    expect(readFile).toHaveBeenCalledTimes(1)
    expect(code.current?.source).toBe('v2')
  })

  it('notes a file deleted on disk', async () => {
    const { fake, code } = await setup()
    await code.openFile('domain/orders.ts')
    fake.emit('workspace', 'changed', workspaceState({ revision: 2, files: [] }))
    await settle()
    expect(code.current?.deleted).toBe(true)
  })

  it('creates a file from the template of its kind and opens it', async () => {
    const saveFile = vi.fn(async (input: { path: string; source: string }) =>
      orders(100, { revision: 2, files: [...orders(100).files, { path: input.path, kind: 'domain', modifiedAt: 400 }] })
    )
    const { code } = await setup({ saveFile: saveFile as never })
    expect(await code.createFile('orders')).toBe(false)
    expect(code.error).toBe('domain/orders.ts exists already')
    expect(await code.createFile('refunds')).toBe(true)
    expect(saveFile).toHaveBeenCalledWith({ path: 'domain/refunds.ts', source: templateFor('domain', 'refunds') })
    expect(code.openPath).toBe('domain/refunds.ts')
    expect(code.current?.modifiedAt).toBe(400)
    expect(code.currentDirty).toBe(false)
  })

  it('deletes a file and closes it', async () => {
    const deleteFile = vi.fn().mockResolvedValue(workspaceState({ revision: 2 }))
    const { code } = await setup({ deleteFile })
    await code.openFile('domain/orders.ts')
    expect(await code.deleteFile('domain/orders.ts')).toBe(true)
    expect(deleteFile).toHaveBeenCalledWith({ path: 'domain/orders.ts' })
    expect(code.openPath).toBeNull()
    expect(code.buffers).toEqual({})
    expect(code.files).toEqual([])
  })

  it('forgets the files of a workspace when another one opens', async () => {
    const { fake, code } = await setup()
    await code.openFile('domain/orders.ts')
    fake.emit('workspace', 'changed', workspaceState({ path: '/ws/other', revision: 1 }))
    await settle()
    expect(code.openPath).toBeNull()
    expect(code.buffers).toEqual({})
  })
})

describe('new files', () => {
  it('get a path in their kind’s folder from a plain name', () => {
    expect(newFilePath('projections', ' sales ')).toEqual({ path: 'projections/sales.ts' })
    expect(newFilePath('domain', 'refunds.ts')).toEqual({ path: 'domain/refunds.ts' })
    expect(newFilePath('domain', '')).toEqual({ error: 'Enter a file name' })
    expect(newFilePath('domain', '../evil')).toMatchObject({ error: expect.stringContaining('no folders') })
    expect(newFilePath('domain', 'types.d')).toMatchObject({ error: expect.any(String) })
  })

  it('start from the definition of their kind', () => {
    expect(templateFor('domain', 'gift-cards')).toContain("defineDecider<State>({\n  name: 'gift-cards'")
    expect(templateFor('projections', 'sales')).toContain('defineProjection')
    expect(templateFor('upcasters', 'x')).toContain('defineUpcaster')
    expect(templateFor('sagas', 'x')).toContain('defineSaga')
  })

  it('name a new projection so that its tables can be named after it', () => {
    expect(projectionName('gift-cards')).toBe('gift_cards')
    expect(projectionName('2024 sales..report')).toBe('sales_report')
    expect(projectionName('---')).toBe('projection')
    // The template declares a table and a handler, so it loads and runs as it is.
    expect(templateFor('projections', 'gift-cards')).toContain("name: 'gift_cards'")
    expect(templateFor('projections', 'gift-cards')).toContain('tables: {\n    counts: {')
  })
})
