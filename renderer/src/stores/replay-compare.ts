import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { EventRef } from '../../../shared/contract'
import { sortedJson } from '../json-tree'
import { useConnectionStore } from './connection'
import { describeError } from './errors'
import { useReplayStore } from './replay'

/** One side of a comparison: the state at a version and the event it stopped after. */
export interface CompareSide {
  version: number
  state: unknown
  event: EventRef | null
}

/** Compare two points of the Replay panel's stream: the state at version A and at version B, for a diff. */
export const useReplayCompareStore = defineStore('replay-compare', () => {
  const connection = useConnectionStore()
  const replay = useReplayStore()
  const versionA = ref(0)
  const versionB = ref(0)
  const left = ref<CompareSide | null>(null)
  const right = ref<CompareSide | null>(null)
  /** The stream and decider the sides were read from. */
  const comparedFor = ref<string | null>(null)
  const loading = ref(false)
  const error = ref<string | null>(null)
  let request = 0

  const forKey = computed(() => (replay.streamId === null ? null : `${replay.streamId}\u0000${replay.decider ?? ''}`))
  /** The sides on screen belong to the stream and decider open now. */
  const current = computed(() => comparedFor.value !== null && comparedFor.value === forKey.value)
  const leftText = computed(() => (current.value && left.value ? sortedJson(left.value.state) : ''))
  const rightText = computed(() => (current.value && right.value ? sortedJson(right.value.state) : ''))

  /** A = the event before the scrubbed one, B = the scrubbed one. */
  function aroundScrubbed(): void {
    versionB.value = replay.version
    versionA.value = Math.max(replay.version - 1, 0)
  }

  async function compare(): Promise<void> {
    const streamId = replay.streamId
    if (streamId === null) return
    const mine = ++request
    const key = forKey.value
    const clamp = (v: number) => Math.min(Math.max(Math.round(Number(v) || 0), 0), replay.streamVersion)
    versionA.value = clamp(versionA.value)
    versionB.value = clamp(versionB.value)
    loading.value = true
    error.value = null
    try {
      const rpc = connection.rpc().replay
      const decider = replay.decider ?? undefined
      const [a, b] = await Promise.all([
        rpc.stateAt({ streamId, decider, at: { version: versionA.value } }),
        rpc.stateAt({ streamId, decider, at: { version: versionB.value } })
      ])
      if (mine !== request) return
      left.value = { version: a.version, state: a.state, event: a.event }
      right.value = { version: b.version, state: b.state, event: b.event }
      comparedFor.value = key
    } catch (e) {
      if (mine === request) error.value = `Could not compare: ${describeError(e)}`
    } finally {
      if (mine === request) loading.value = false
    }
  }

  return { versionA, versionB, left, right, comparedFor, current, leftText, rightText, loading, error, aroundScrubbed, compare }
})
