import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { fakeClient, installFakeClient, workspaceState } from './fake-client'
import { useTypingsStore } from './typings'
import { useWorkspaceStore } from './workspace'

beforeEach(() => setActivePinia(createPinia()))

const settle = () => new Promise((r) => setTimeout(r, 0))
const files = (n: number) => ({ files: [{ path: 'file:///node_modules/@types/workbench/index.d.ts', content: `declare module 'workbench' {} // ${n}` }] })

describe('the editor typings', () => {
  it('are fetched for an editor, and again when the workspace changes while it is open', async () => {
    let n = 0
    const typings = vi.fn(async () => files(++n))
    const fake = fakeClient({ workspace: { typings, state: vi.fn().mockResolvedValue(workspaceState()), recent: vi.fn().mockResolvedValue([]) } })
    installFakeClient(fake)
    await useWorkspaceStore().open()
    const store = useTypingsStore()
    const release = store.use()
    await settle()
    expect(store.files[0].content).toContain('// 1')

    fake.emit('workspace', 'changed', workspaceState({ revision: 2 }))
    await settle()
    await settle()
    expect(store.files[0].content).toContain('// 2')

    release()
    fake.emit('workspace', 'changed', workspaceState({ revision: 3 }))
    await settle()
    await settle()
    expect(typings).toHaveBeenCalledTimes(2)
  })

  it('fetch once more, not once per change, when changes come during a fetch', async () => {
    let release: (v: unknown) => void = () => {}
    const typings = vi
      .fn()
      .mockImplementationOnce(() => new Promise((r) => (release = r)))
      .mockResolvedValue(files(9))
    installFakeClient(fakeClient({ workspace: { typings } }))
    const store = useTypingsStore()
    const first = store.refresh()
    void store.refresh()
    void store.refresh()
    release(files(1))
    await first
    expect(typings).toHaveBeenCalledTimes(2)
    expect(store.files[0].content).toContain('// 9')
  })

  it('say when they cannot be read', async () => {
    installFakeClient(fakeClient({ workspace: { typings: () => Promise.reject(new Error('gone')) } }))
    const store = useTypingsStore()
    await store.refresh()
    expect(store.error).toBe("Could not load the editor's typings: gone")
  })
})
