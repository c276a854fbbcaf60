import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { fakeClient, fakeReplay, installFakeClient } from './fake-client'
import { useReplayStore } from './replay'
import { jsonFileName, useReplayFixtureStore } from './replay-fixture'

vi.mock('../save-text', () => ({ copyText: vi.fn(async () => {}), downloadText: vi.fn() }))
const saveText = await import('../save-text')

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.clearAllMocks())

const exported = { typescript: 'spec(given).when(when).then(then)\n', json: '{"given": []}', fileName: 'order-1.v4-4.spec.ts' }

async function openOrder(methods = {}) {
  installFakeClient(fakeClient({ replay: fakeReplay('order-1', 5, methods) }))
  await useReplayStore().openStream('order-1', 4)
}

describe('exporting a fixture', () => {
  it('exports given up to the event before the scrubbed one, then the scrubbed one', async () => {
    const fixture = vi.fn(async () => exported)
    await openOrder({ fixture })
    const store = useReplayFixtureStore()
    store.aroundScrubbed()
    expect([store.givenUpTo, store.thenUpTo]).toEqual([3, 4])
    await store.exportFixture()
    expect(fixture).toHaveBeenCalledWith({ streamId: 'order-1', decider: 'orders', givenUpTo: 3, thenUpTo: 4 })
    expect(store.current).toMatchObject({ typescript: exported.typescript, givenUpTo: 3, thenUpTo: 4 })
  })

  it('starts at the first event when the scrubber is before it', async () => {
    await openOrder()
    await useReplayStore().scrubTo(0)
    const store = useReplayFixtureStore()
    store.aroundScrubbed()
    expect([store.givenUpTo, store.thenUpTo]).toEqual([0, 1])
    expect(store.blocker).toBeNull()
  })

  it('says what is wrong with the slice before asking the engine', async () => {
    const fixture = vi.fn(async () => exported)
    await openOrder({ fixture })
    const store = useReplayFixtureStore()
    store.givenUpTo = 4
    store.thenUpTo = 4
    expect(store.blocker).toBe('“Then up to” must come after “given up to”')
    store.thenUpTo = 9
    expect(store.blocker).toBe('The stream ends at version 5')
    await store.exportFixture()
    expect(fixture).not.toHaveBeenCalled()
  })

  it('copies and downloads the TypeScript and the JSON under their file names', async () => {
    await openOrder({ fixture: async () => exported })
    const store = useReplayFixtureStore()
    store.aroundScrubbed()
    await store.exportFixture()
    await store.copy('typescript')
    expect(saveText.copyText).toHaveBeenCalledWith(exported.typescript)
    expect(store.notice).toBe('Copied the TypeScript to the clipboard')
    store.download('json')
    expect(saveText.downloadText).toHaveBeenCalledWith('order-1.v4-4.json', '{"given": []}', 'application/json')
    expect(store.notice).toBe('Downloaded order-1.v4-4.json')
  })

  it('tells when the clipboard refuses', async () => {
    vi.mocked(saveText.copyText).mockRejectedValueOnce(new Error('Write permission denied.'))
    await openOrder({ fixture: async () => exported })
    const store = useReplayFixtureStore()
    store.aroundScrubbed()
    await store.exportFixture()
    await store.copy('json')
    expect(store.notice).toBe('Could not copy: Write permission denied.')
  })

  it('names the JSON file after the TypeScript one', () => {
    expect(jsonFileName('order-1.given-3.then-4.ts')).toBe('order-1.given-3.then-4.json')
    expect(jsonFileName('order-1.v2-2.spec.ts')).toBe('order-1.v2-2.json')
    expect(jsonFileName('fixture')).toBe('fixture.json')
  })

  it('shows the engine’s refusal', async () => {
    await openOrder({ fixture: () => Promise.reject(new Error('thenUpTo is past the end of the stream')) })
    const store = useReplayFixtureStore()
    store.aroundScrubbed()
    await store.exportFixture()
    expect(store.error).toBe('Could not export the fixture: thenUpTo is past the end of the stream')
  })
})
