import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { AppendResult, ExpectedVersion, JsonObject } from '../../../shared/model/events'
import { useConnectionStore } from './connection'
import { describeError, versionConflictOf, type VersionConflict } from './errors'

export type ExpectedVersionKind = 'any' | 'no-stream' | 'exists' | 'exact'

export type JsonCheck = { ok: true; value: JsonObject | undefined } | { ok: false; error: string }

/** Parses an editor's text as a JSON object; blank text is allowed where the field is optional. */
export function parseJsonObject(text: string, field: string, optional: boolean): JsonCheck {
  if (text.trim() === '') return optional ? { ok: true, value: undefined } : { ok: false, error: `${field}: enter a JSON object, e.g. {}` }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    return { ok: false, error: `${field}: ${e instanceof Error ? e.message : String(e)}` }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: `${field}: must be a JSON object ({...}), not ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}` }
  }
  return { ok: true, value: value as JsonObject }
}

/** The append form: drafts checked as you type, the expected version, and what the store answered. */
export const useAppendStore = defineStore('append', () => {
  const connection = useConnectionStore()
  const streamId = ref('')
  const type = ref('')
  const dataText = ref('{\n  \n}')
  const metadataText = ref('{}')
  const expectedKind = ref<ExpectedVersionKind>('any')
  const expectedNumber = ref(0)
  const sending = ref(false)
  const result = ref<AppendResult | null>(null)
  const error = ref<string | null>(null)
  const conflict = ref<VersionConflict | null>(null)

  const dataCheck = computed(() => parseJsonObject(dataText.value, 'data', false))
  const metadataCheck = computed(() => parseJsonObject(metadataText.value, 'metadata', true))
  const expectedVersion = computed<ExpectedVersion>(() => (expectedKind.value === 'exact' ? expectedNumber.value : expectedKind.value))

  /** Why the form cannot be sent yet, or null when it can. */
  const blocker = computed<string | null>(() => {
    if (streamId.value.trim() === '') return 'Enter a stream id'
    if (type.value.trim() === '') return 'Enter an event type'
    if (!dataCheck.value.ok) return dataCheck.value.error
    if (!metadataCheck.value.ok) return metadataCheck.value.error
    if (expectedKind.value === 'exact' && (!Number.isInteger(expectedNumber.value) || expectedNumber.value < 0)) return 'The expected version must be a whole number ≥ 0'
    return null
  })

  async function send(): Promise<void> {
    if (blocker.value !== null || sending.value) return
    const data = dataCheck.value.ok ? dataCheck.value.value : undefined
    const metadata = metadataCheck.value.ok ? metadataCheck.value.value : undefined
    const target = streamId.value.trim()
    const expected = expectedVersion.value
    sending.value = true
    error.value = null
    conflict.value = null
    result.value = null
    try {
      result.value = await connection.rpc().store.append({
        streamId: target,
        expectedVersion: expected,
        events: [{ type: type.value.trim(), data: data ?? {}, ...(metadata && Object.keys(metadata).length ? { metadata } : {}) }]
      })
    } catch (e) {
      conflict.value = versionConflictOf(e, target, expected)
      if (!conflict.value) error.value = describeError(e)
    } finally {
      sending.value = false
    }
  }

  /** Starts a draft for a given stream (from the stream view). */
  function target(id: string): void {
    streamId.value = id
    result.value = null
    error.value = null
    conflict.value = null
  }

  return { streamId, type, dataText, metadataText, expectedKind, expectedNumber, sending, result, error, conflict, dataCheck, metadataCheck, expectedVersion, blocker, send, target }
})
