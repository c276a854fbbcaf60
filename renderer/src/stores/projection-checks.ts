import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { CheckResult } from '../../../shared/contract'
import { useConnectionStore } from './connection'
import { describeError } from './errors'

export type CheckKind = CheckResult['check']

const key = (projection: string, check: CheckKind) => `${projection}:${check}`

/** Determinism (rebuild twice, compare) and idempotency (every event twice, compare) checks of a projection. */
export const useProjectionChecksStore = defineStore('projection-checks', () => {
  const connection = useConnectionStore()
  const results = ref<Record<string, CheckResult>>({})
  const running = ref<Record<string, true>>({})
  const errors = ref<Record<string, string>>({})

  const resultOf = (projection: string, check: CheckKind) => results.value[key(projection, check)] ?? null
  const runningOf = (projection: string, check: CheckKind) => running.value[key(projection, check)] === true
  const errorOf = (projection: string, check: CheckKind) => errors.value[key(projection, check)] ?? null

  function drop<T>(record: Record<string, T>, k: string): Record<string, T> {
    const { [k]: _gone, ...rest } = record
    return rest
  }

  async function run(projection: string, check: CheckKind): Promise<void> {
    const k = key(projection, check)
    if (running.value[k]) return
    running.value = { ...running.value, [k]: true }
    errors.value = drop(errors.value, k)
    results.value = drop(results.value, k)
    try {
      const result = await connection.rpc().projections.check({ projection, check })
      results.value = { ...results.value, [k]: result }
    } catch (e) {
      errors.value = { ...errors.value, [k]: `Could not run the ${check} check of ${projection}: ${describeError(e)}` }
    } finally {
      running.value = drop(running.value, k)
    }
  }

  function dismiss(projection: string, check: CheckKind): void {
    const k = key(projection, check)
    results.value = drop(results.value, k)
    errors.value = drop(errors.value, k)
  }

  return { results, running, errors, resultOf, runningOf, errorOf, run, dismiss }
})
