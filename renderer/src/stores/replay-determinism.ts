import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { EventRef, FieldChange } from '../../../shared/contract'
import { useConnectionStore } from './connection'
import { describeError } from './errors'
import { useReplayStore } from './replay'

export interface DeterminismCheck {
  streamId: string
  decider: string | null
  deterministic: boolean
  eventsChecked: number
  divergence: { event: EventRef; changes: FieldChange[] } | null
}

/** Whether the Replay panel's stream folds to the same state twice (a decider that reads the clock or Math.random does not). */
export const useReplayDeterminismStore = defineStore('replay-determinism', () => {
  const connection = useConnectionStore()
  const replay = useReplayStore()
  const check = ref<DeterminismCheck | null>(null)
  const checking = ref(false)
  const error = ref<string | null>(null)
  let request = 0

  /** The result, when it is of the stream and decider open now. */
  const result = computed(() => (check.value && check.value.streamId === replay.streamId && check.value.decider === replay.decider ? check.value : null))

  async function run(): Promise<void> {
    const streamId = replay.streamId
    if (streamId === null) return
    const decider = replay.decider
    const mine = ++request
    checking.value = true
    error.value = null
    try {
      const r = await connection.rpc().replay.checkDeterminism({ streamId, decider: decider ?? undefined })
      if (mine === request) check.value = { streamId, decider, ...r }
    } catch (e) {
      if (mine === request) error.value = `Could not check determinism: ${describeError(e)}`
    } finally {
      if (mine === request) checking.value = false
    }
  }

  function dismiss(): void {
    check.value = null
    error.value = null
  }

  return { check, result, checking, error, run, dismiss }
})
