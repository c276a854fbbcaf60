import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import type { ProjectionStatus, RowDiff } from '../../../shared/contract'
import { useConnectionStore } from './connection'
import { describeError } from './errors'
import { useProjectionsStore } from './projections'
import { useWorkspaceStore } from './workspace'

/** Rows shown per kind of difference. */
export const DIFF_SAMPLES = 10

export type ShadowPhase = 'none' | 'running' | 'ready'

/** Where a projection's shadow run is: none, running (a shadow job) or ready (its tables can be compared and promoted). */
export function shadowPhase(status: ProjectionStatus | null | undefined): ShadowPhase {
  if (!status) return 'none'
  if (status.job?.kind === 'shadow') return 'running'
  if (!status.shadow) return 'none'
  return status.shadow.ready ? 'ready' : 'running'
}

/** How many events of the log a ready shadow run has not seen (it ended early, or events came after it). */
export function shadowBehind(status: ProjectionStatus | null | undefined): number {
  return status?.shadow ? Math.max(status.headPosition - status.shadow.position, 0) : 0
}

/** The columns whose values differ between two versions of a row. */
export function changedColumns(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
  return keys.filter((k) => JSON.stringify(before[k] ?? null) !== JSON.stringify(after[k] ?? null))
}

/** Totals over the tables of a diff. */
export function diffTotals(diffs: RowDiff[]): { added: number; removed: number; changed: number; unchanged: number } {
  return diffs.reduce((t, d) => ({ added: t.added + d.added, removed: t.removed + d.removed, changed: t.changed + d.changed, unchanged: t.unchanged + d.unchanged }), {
    added: 0,
    removed: 0,
    changed: 0,
    unchanged: 0
  })
}

type ShadowAction = 'start' | 'promote' | 'discard'

/**
 * Save → shadow run → diff → promote: runs a projection's (new) code from zero into shadow tables beside the live
 * ones, reads the row-level diff when the run is ready, and promotes it (atomically) or discards it.
 */
export const useProjectionShadowStore = defineStore('projection-shadow', () => {
  const connection = useConnectionStore()
  const projections = useProjectionsStore()
  const workspace = useWorkspaceStore()
  /** Start a shadow run of a projection whenever its file is saved. */
  const onSave = ref(true)
  /** Projections whose file was saved while `onSave` was off: a shadow run is offered. */
  const offered = ref<string[]>([])
  /** The diff per projection, with the shadow position it was read at. */
  const diffs = ref<Record<string, { position: number; tables: RowDiff[] }>>({})
  const loadingDiff = ref<Record<string, true>>({})
  const busy = ref<Record<string, ShadowAction>>({})
  const error = ref<{ projection: string; message: string } | null>(null)
  /** What the last promote did, to say so. */
  const promoted = ref<{ projection: string; at: number } | null>(null)
  /** The projections of the file saved last (the panel shows the first). */
  const lastSaved = ref<{ path: string; names: string[] } | null>(null)
  /** Projections saved while a job of theirs ran (or a start was on its way): their run starts when it ends. */
  const again = ref<string[]>([])

  const phase = (name: string) => shadowPhase(projections.byName[name])
  const diffOf = (name: string) => diffs.value[name]?.tables ?? null

  function setBusy(name: string, action: ShadowAction | null) {
    const { [name]: _was, ...rest } = busy.value
    busy.value = action ? { ...rest, [name]: action } : rest
  }

  function forget(name: string) {
    const { [name]: _gone, ...rest } = diffs.value
    diffs.value = rest
  }

  async function start(name: string): Promise<boolean> {
    if (busy.value[name]) return false
    setBusy(name, 'start')
    error.value = null
    offered.value = offered.value.filter((n) => n !== name)
    forget(name)
    try {
      projections.apply(await connection.rpc().projections.shadowStart({ projection: name }))
      return true
    } catch (e) {
      error.value = { projection: name, message: `Could not start a shadow run of ${name}: ${describeError(e)}` }
      return false
    } finally {
      setBusy(name, null)
    }
  }

  async function loadDiff(name: string): Promise<void> {
    const status = projections.byName[name]
    if (!status?.shadow || loadingDiff.value[name]) return
    const position = status.shadow.position
    loadingDiff.value = { ...loadingDiff.value, [name]: true }
    try {
      const tables = await connection.rpc().projections.shadowDiff({ projection: name, samples: DIFF_SAMPLES })
      diffs.value = { ...diffs.value, [name]: { position, tables } }
    } catch (e) {
      error.value = { projection: name, message: `Could not compare the shadow of ${name}: ${describeError(e)}` }
    } finally {
      const { [name]: _done, ...rest } = loadingDiff.value
      loadingDiff.value = rest
    }
  }

  async function finish(name: string, action: 'promote' | 'discard'): Promise<boolean> {
    if (busy.value[name]) return false
    setBusy(name, action)
    error.value = null
    try {
      const rpc = connection.rpc().projections
      projections.apply(await (action === 'promote' ? rpc.shadowPromote({ projection: name }) : rpc.shadowDiscard({ projection: name })))
      forget(name)
      promoted.value = action === 'promote' ? { projection: name, at: Date.now() } : null
      return true
    } catch (e) {
      error.value = { projection: name, message: `Could not ${action} the shadow of ${name}: ${describeError(e)}` }
      return false
    } finally {
      setBusy(name, null)
    }
  }

  /** A definition file was saved: its projections get a shadow run (or are offered one). */
  async function saved(path: string): Promise<string[]> {
    // The save reloaded the code: list again, so projections the file now defines are known.
    await projections.load()
    const names = projections.statuses.filter((s) => s.file === path).map((s) => s.name)
    lastSaved.value = { path, names }
    if (onSave.value) {
      for (const name of names) {
        // A run of the older code still going (or a rebuild): this one starts when it ends.
        if (projections.byName[name]?.job || busy.value[name]) again.value = [...new Set([...again.value, name])]
        else await start(name)
      }
    } else {
      offered.value = [...new Set([...offered.value, ...names])]
    }
    return names
  }

  // A projection file saved here or changed on disk.
  watch(
    () => workspace.changed,
    async (changed) => {
      for (const path of changed?.paths.filter((p) => p.startsWith('projections/')) ?? []) await saved(path)
    }
  )

  // A shadow run that became ready: read its diff once per shadow position.
  watch(
    () => projections.statuses.map((s) => `${s.name}:${shadowPhase(s)}:${s.shadow?.position ?? ''}:${s.job?.kind ?? ''}`).join('|'),
    () => {
      for (const s of projections.statuses) {
        if (again.value.includes(s.name) && !s.job && !busy.value[s.name]) {
          again.value = again.value.filter((n) => n !== s.name)
          void start(s.name)
          continue
        }
        const p = shadowPhase(s)
        if (p === 'none') forget(s.name)
        else if (p === 'ready' && diffs.value[s.name]?.position !== s.shadow?.position) void loadDiff(s.name)
      }
    }
  )

  const anyRunning = computed(() => projections.statuses.some((s) => shadowPhase(s) === 'running'))

  return { onSave, offered, diffs, loadingDiff, busy, error, promoted, lastSaved, again, anyRunning, phase, diffOf, start, loadDiff, promote: (n: string) => finish(n, 'promote'), discard: (n: string) => finish(n, 'discard'), saved }
})
