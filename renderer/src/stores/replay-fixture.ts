import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { copyText, downloadText } from '../save-text'
import { useConnectionStore } from './connection'
import { describeError } from './errors'
import { useReplayStore } from './replay'

export interface Fixture {
  typescript: string
  json: string
  fileName: string
  streamId: string
  givenUpTo: number
  thenUpTo: number
}

export type FixtureFormat = 'typescript' | 'json'

/** `order-42.v2-3.spec.ts` → `order-42.v2-3.json`: the data of a spec is not a spec. */
export function jsonFileName(fileName: string): string {
  return `${fileName.replace(/(\.(spec|test))?\.(ts|mts|js|json)$/, '')}.json`
}

/** Export a slice of the Replay panel's stream as a given/when/then fixture, to copy or download. */
export const useReplayFixtureStore = defineStore('replay-fixture', () => {
  const connection = useConnectionStore()
  const replay = useReplayStore()
  const givenUpTo = ref(0)
  const thenUpTo = ref(1)
  const fixture = ref<Fixture | null>(null)
  const loading = ref(false)
  const error = ref<string | null>(null)
  /** What the last copy or download did, for a person to see. */
  const notice = ref<string | null>(null)
  let request = 0

  /** The fixture on screen is of the stream open now. */
  const current = computed(() => (fixture.value && fixture.value.streamId === replay.streamId ? fixture.value : null))
  const blocker = computed<string | null>(() => {
    if (replay.streamId === null) return 'Open a stream first'
    if (!Number.isInteger(givenUpTo.value) || givenUpTo.value < 0) return '“Given up to” is a version, 0 or more'
    if (!Number.isInteger(thenUpTo.value) || thenUpTo.value < 1) return '“Then up to” is a version, 1 or more'
    if (thenUpTo.value <= givenUpTo.value) return '“Then up to” must come after “given up to”'
    if (thenUpTo.value > replay.streamVersion) return `The stream ends at version ${replay.streamVersion}`
    return null
  })

  /** Given everything before the scrubbed event, then the scrubbed event. */
  function aroundScrubbed(): void {
    thenUpTo.value = Math.max(replay.version, 1)
    givenUpTo.value = thenUpTo.value - 1
  }

  async function exportFixture(): Promise<void> {
    const streamId = replay.streamId
    if (streamId === null || blocker.value) return
    const mine = ++request
    const given = givenUpTo.value
    const then = thenUpTo.value
    loading.value = true
    error.value = null
    notice.value = null
    try {
      const r = await connection.rpc().replay.fixture({ streamId, decider: replay.decider ?? undefined, givenUpTo: given, thenUpTo: then })
      if (mine !== request) return
      fixture.value = { ...r, streamId, givenUpTo: given, thenUpTo: then }
    } catch (e) {
      if (mine === request) error.value = `Could not export the fixture: ${describeError(e)}`
    } finally {
      if (mine === request) loading.value = false
    }
  }

  async function copy(format: FixtureFormat): Promise<void> {
    const f = current.value
    if (!f) return
    try {
      await copyText(format === 'typescript' ? f.typescript : f.json)
      notice.value = `Copied the ${format === 'typescript' ? 'TypeScript' : 'JSON'} to the clipboard`
    } catch (e) {
      notice.value = `Could not copy: ${describeError(e)}`
    }
  }

  function download(format: FixtureFormat): void {
    const f = current.value
    if (!f) return
    const name = format === 'typescript' ? f.fileName : jsonFileName(f.fileName)
    downloadText(name, format === 'typescript' ? f.typescript : f.json, format === 'typescript' ? 'text/typescript' : 'application/json')
    notice.value = `Downloaded ${name}`
  }

  return { givenUpTo, thenUpTo, fixture, current, loading, error, notice, blocker, aroundScrubbed, exportFixture, copy, download }
})
