import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { RpcError } from '../../../shared/rpc/errors'
import { fakeClient, installFakeClient, workspaceState } from './fake-client'
import { changedFiles, newerState, useWorkspaceStore } from './workspace'

beforeEach(() => setActivePinia(createPinia()))

const recent = [{ path: '/ws/demo', name: 'Demo shop', openedAt: 1 }]

describe('the open workspace', () => {
  it('reads the state and the recent workspaces, and follows changes', async () => {
    const fake = fakeClient({ workspace: { state: vi.fn().mockResolvedValue(workspaceState()), recent: vi.fn().mockResolvedValue(recent) } })
    installFakeClient(fake)
    const workspace = useWorkspaceStore()
    await workspace.open()
    expect(workspace.state?.name).toBe('Demo shop')
    expect(workspace.recent).toEqual(recent)
    fake.emit('workspace', 'changed', workspaceState({ revision: 2, trusted: false }))
    expect(workspace.state?.revision).toBe(2)
    expect(workspace.trusted).toBe(false)
    workspace.close()
    expect(fake.listenerCount()).toBe(0)
  })

  it('keeps the newer of two states of one workspace, and always takes another workspace', () => {
    expect(newerState(workspaceState({ revision: 5 }), workspaceState({ revision: 4 }))).toBe(false)
    expect(newerState(workspaceState({ revision: 5 }), workspaceState({ revision: 5 }))).toBe(true)
    expect(newerState(workspaceState({ revision: 5 }), workspaceState({ path: '/ws/other', revision: 1 }))).toBe(true)
    expect(newerState(null, workspaceState())).toBe(true)
  })

  it('says which files a newer state changed, saved here or on disk, once per revision', async () => {
    const file = (path: string, modifiedAt: number) => ({ path, kind: 'projections' as const, modifiedAt })
    const first = workspaceState({ revision: 1, files: [file('projections/a.ts', 10), file('projections/b.ts', 10)] })
    const second = workspaceState({ revision: 2, files: [file('projections/a.ts', 20), file('projections/b.ts', 10), file('upcasters/c.ts', 20)] })
    // upcasters/c.ts is new: not a change of a file.
    expect(changedFiles(first, second)).toEqual(['projections/a.ts'])
    expect(changedFiles(second, second)).toEqual([])
    expect(changedFiles(null, second)).toEqual([])
    expect(changedFiles(first, { ...second, path: '/ws/other' })).toEqual([])

    const fake = fakeClient({ workspace: { state: vi.fn().mockResolvedValue(first), recent: vi.fn().mockResolvedValue(recent) } })
    installFakeClient(fake)
    const workspace = useWorkspaceStore()
    await workspace.open()
    expect(workspace.changed).toBeNull()
    fake.emit('workspace', 'changed', second)
    expect(workspace.changed).toEqual({ paths: ['projections/a.ts'], revision: 2 })
    // The same state again (a save's answer after its event): nothing new.
    workspace.accept(second)
    expect(workspace.changed).toEqual({ paths: ['projections/a.ts'], revision: 2 })
    workspace.accept(workspaceState({ revision: 3, files: second.files }))
    expect(workspace.changed?.revision).toBe(2)
    workspace.close()
  })

  it('asks for the recent list again when another workspace was opened elsewhere', async () => {
    const recentCall = vi.fn().mockResolvedValue(recent)
    const fake = fakeClient({ workspace: { state: vi.fn().mockResolvedValue(workspaceState()), recent: recentCall } })
    installFakeClient(fake)
    const workspace = useWorkspaceStore()
    await workspace.open()
    fake.emit('workspace', 'changed', workspaceState({ path: '/ws/other', name: 'Other', revision: 1 }))
    expect(workspace.state?.name).toBe('Other')
    expect(recentCall).toHaveBeenCalledTimes(2)
  })

  it('groups files by kind with their definitions and problems, sorted by line', async () => {
    const state = workspaceState({
      files: [
        { path: 'domain/orders.ts', kind: 'domain', modifiedAt: 1 },
        { path: 'projections/sales.ts', kind: 'projections', modifiedAt: 1 }
      ],
      definitions: [{ kind: 'decider', name: 'orders', file: 'domain/orders.ts', exportName: 'default' }],
      problems: [
        { file: 'projections/sales.ts', line: 9, column: 1, message: 'later', severity: 'error' },
        { file: 'projections/sales.ts', line: 2, column: 5, message: 'first', severity: 'warning' }
      ]
    })
    installFakeClient(fakeClient({ workspace: { state: vi.fn().mockResolvedValue(state), recent: vi.fn().mockResolvedValue([]) } }))
    const workspace = useWorkspaceStore()
    await workspace.open()
    expect(workspace.filesByKind.domain.map((f) => [f.path, f.definitions.map((d) => d.name)])).toEqual([['domain/orders.ts', ['orders']]])
    expect(workspace.filesByKind.projections[0].problems.map((p) => p.message)).toEqual(['first', 'later'])
    expect(workspace.filesByKind.sagas).toEqual([])
    expect(workspace.errorCount).toBe(1)
  })

  it('trusts the workspace and shows what the engine loaded then', async () => {
    const trust = vi.fn().mockResolvedValue(workspaceState({ trusted: true, revision: 3, definitions: [{ kind: 'decider', name: 'counters', file: 'domain/c.ts', exportName: 'default' }] }))
    installFakeClient(fakeClient({ workspace: { state: vi.fn().mockResolvedValue(workspaceState({ trusted: false })), recent: vi.fn().mockResolvedValue([]), trust } }))
    const workspace = useWorkspaceStore()
    await workspace.open()
    expect(workspace.trusted).toBe(false)
    const trusting = workspace.trust()
    expect(workspace.busy).toBe('trust')
    await trusting
    expect(workspace.trusted).toBe(true)
    expect(workspace.state?.definitions.map((d) => d.name)).toEqual(['counters'])
    expect(workspace.busy).toBeNull()
  })

  it('opens a folder by its path, and says why it could not', async () => {
    const open = vi
      .fn()
      .mockRejectedValueOnce(new RpcError('NotFound', 'No folder /nowhere', { field: 'path' }))
      .mockResolvedValueOnce(workspaceState({ path: '/ws/shop', name: 'shop', trusted: false }))
    const recentCall = vi.fn().mockResolvedValue([])
    installFakeClient(fakeClient({ workspace: { open, recent: recentCall } }))
    const workspace = useWorkspaceStore()
    expect(await workspace.openFolder('  ', false)).toBe(false)
    expect(workspace.actionError).toBe('Enter the path of a folder')
    expect(await workspace.openFolder('/nowhere', false)).toBe(false)
    expect(workspace.actionError).toBe('Could not open /nowhere: No folder /nowhere')
    expect(await workspace.openFolder(' /ws/shop ', true)).toBe(true)
    expect(open).toHaveBeenLastCalledWith({ path: '/ws/shop', create: true })
    expect(workspace.state?.name).toBe('shop')
    expect(workspace.actionError).toBeNull()
    expect(recentCall).toHaveBeenCalled()
  })

  it('resets the demo', async () => {
    const resetDemo = vi.fn().mockResolvedValue(workspaceState({ revision: 1 }))
    installFakeClient(fakeClient({ workspace: { resetDemo, recent: vi.fn().mockResolvedValue(recent) } }))
    const workspace = useWorkspaceStore()
    expect(await workspace.resetDemo()).toBe(true)
    expect(resetDemo).toHaveBeenCalled()
    expect(workspace.recent).toEqual(recent)
  })
})
