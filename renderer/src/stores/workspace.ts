import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { CodeProblem, WorkspaceState } from '../../../shared/contract'
import type { DefinitionKind } from '../../../shared/model/definitions'
import type { Disposer } from '../../../shared/rpc/protocol'
import { useConnectionStore } from './connection'
import { describeError, errorCode } from './errors'

export const definitionKinds: DefinitionKind[] = ['domain', 'projections', 'upcasters', 'sagas']

export type WorkspaceFile = WorkspaceState['files'][number]
export type DefinitionSummary = WorkspaceState['definitions'][number]
export type RecentWorkspace = { path: string; name: string; openedAt: number }
export interface OpenRequest {
  path: string
  create: boolean
  postgres?: { url: string; schema?: string }
  password?: string
  rememberPassword?: boolean
}

/** A definition file with what was loaded from it. */
export interface FileEntry extends WorkspaceFile {
  definitions: DefinitionSummary[]
  problems: CodeProblem[]
}

/** Which of two states to keep: another workspace always wins; within one, the higher revision. */
export function newerState(known: WorkspaceState | null, next: WorkspaceState): boolean {
  return known === null || known.path !== next.path || next.revision >= known.revision
}

/**
 * The definition files a newer state of the same workspace changed (saved in the app or on disk): their modification
 * time differs from the state before. A new file is not a change of one (its definitions start from scratch).
 */
export function changedFiles(known: WorkspaceState | null, next: WorkspaceState): string[] {
  if (!known || known.path !== next.path || next.revision <= known.revision) return []
  const before = new Map(known.files.map((f) => [f.path, f.modifiedAt]))
  return next.files.filter((f) => before.has(f.path) && before.get(f.path) !== f.modifiedAt).map((f) => f.path)
}

/** Problems sorted the way a person reads them: by file, then line. */
export function sortProblems(problems: CodeProblem[]): CodeProblem[] {
  return [...problems].sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0))
}

/** The open workspace: facts, trust, definition files and problems, recent workspaces; follows `workspace.changed`. */
export const useWorkspaceStore = defineStore('workspace', () => {
  const connection = useConnectionStore()
  const state = ref<WorkspaceState | null>(null)
  const recent = ref<RecentWorkspace[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)
  /** What the person is waiting for: trusting, opening, resetting, syncing with the PostgreSQL server. */
  const busy = ref<'trust' | 'open' | 'reset' | 'sync' | null>(null)
  const actionError = ref<string | null>(null)
  /** An open that a PostgreSQL server refused for want of a password: asked again with one. */
  const passwordFor = ref<{ request: OpenRequest; location: string; refused: boolean } | null>(null)
  /** Whether a password can be kept in the OS keychain (the desktop app). */
  const canRemember = ref(false)
  /** The files the latest state changed, whether saved here or on disk (panels start shadow runs and dry-runs on it). */
  const changed = ref<{ paths: string[]; revision: number } | null>(null)
  let stopChanges: Disposer | null = null

  const files = computed<FileEntry[]>(() =>
    (state.value?.files ?? []).map((f) => ({
      ...f,
      definitions: (state.value?.definitions ?? []).filter((d) => d.file === f.path),
      problems: sortProblems((state.value?.problems ?? []).filter((p) => p.file === f.path))
    }))
  )
  const filesByKind = computed(() => Object.fromEntries(definitionKinds.map((k) => [k, files.value.filter((f) => f.kind === k)])) as Record<DefinitionKind, FileEntry[]>)
  const problems = computed(() => sortProblems(state.value?.problems ?? []))
  const errorCount = computed(() => problems.value.filter((p) => p.severity === 'error').length)
  const trusted = computed(() => state.value?.trusted ?? connection.info?.trusted ?? true)

  function apply(next: WorkspaceState): void {
    if (!newerState(state.value, next)) return
    const paths = changedFiles(state.value, next)
    state.value = next
    if (paths.length) changed.value = { paths, revision: next.revision }
  }

  async function refresh(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      apply(await connection.rpc().workspace.state())
    } catch (e) {
      error.value = `Could not read the workspace: ${describeError(e)}`
    } finally {
      loading.value = false
    }
  }

  async function refreshRecent(): Promise<void> {
    try {
      recent.value = await connection.rpc().workspace.recent()
    } catch {
      // The list is a convenience; opening by path still works.
    }
  }

  /** Follows the workspace until close(); the app keeps it open for the status bar. */
  async function open(): Promise<void> {
    close()
    try {
      stopChanges = connection.rpc().workspace.on('changed', (next) => {
        const switched = state.value !== null && state.value.path !== next.path
        apply(next)
        if (switched) void refreshRecent()
      })
    } catch (e) {
      error.value = describeError(e)
      return
    }
    await Promise.all([refresh(), refreshRecent()])
  }

  function close(): void {
    stopChanges?.()
    stopChanges = null
  }

  async function act(kind: 'trust' | 'open' | 'reset' | 'sync', call: () => Promise<WorkspaceState>, failure: string): Promise<boolean> {
    if (busy.value) return false
    busy.value = kind
    actionError.value = null
    try {
      const next = await call()
      apply(next)
      return true
    } catch (e) {
      actionError.value = `${failure}: ${describeError(e)}`
      lastError = e
      return false
    } finally {
      busy.value = null
    }
  }
  let lastError: unknown = null

  const trust = () => act('trust', () => connection.rpc().workspace.trust(), 'Could not trust the workspace')

  /** Opens (or creates) a folder; `postgres` keeps a new workspace's log in a PostgreSQL store. */
  async function openFolder(path: string, create: boolean, extra: Omit<OpenRequest, 'path' | 'create'> = {}): Promise<boolean> {
    const folder = path.trim()
    if (!folder) {
      actionError.value = 'Enter the path of a folder'
      return false
    }
    const request: OpenRequest = { path: folder, create, ...extra }
    const ok = await act('open', () => connection.rpc().workspace.open(request), `Could not open ${folder}`)
    if (ok) {
      passwordFor.value = null
      await refreshRecent()
    } else if (errorCode(lastError) === 'CredentialsNeeded') {
      // Asked again with the password; the server was created or found, only the password is missing.
      const details = (lastError as { details?: { location?: string } }).details
      passwordFor.value = { request: { ...request, password: undefined }, location: details?.location ?? extra.postgres?.url ?? folder, refused: extra.password !== undefined }
      actionError.value = null
      void refreshCredentialsInfo()
    }
    return ok
  }

  /** Retries the open that wanted a password. */
  async function openWithPassword(password: string, remember: boolean): Promise<boolean> {
    const pending = passwordFor.value
    if (!pending) return false
    const { path, create, ...extra } = pending.request
    return openFolder(path, create, { ...extra, password, rememberPassword: remember })
  }

  async function refreshCredentialsInfo(): Promise<void> {
    try {
      canRemember.value = (await connection.rpc().workspace.credentialsInfo()).canRemember
    } catch {
      canRemember.value = false
    }
  }

  /** Copies what the PostgreSQL server has and the working copy lacks. */
  const sync = () => act('sync', () => connection.rpc().workspace.sync(), 'Could not sync with the server')

  async function resetDemo(): Promise<boolean> {
    const ok = await act('reset', () => connection.rpc().workspace.resetDemo(), 'Could not reset the demo')
    if (ok) await refreshRecent()
    return ok
  }

  /** Applies the state a save or delete answered with (it may be newer than the last event). */
  function accept(next: WorkspaceState): void {
    apply(next)
  }

  return {
    state,
    recent,
    loading,
    error,
    busy,
    actionError,
    passwordFor,
    canRemember,
    files,
    filesByKind,
    problems,
    errorCount,
    trusted,
    changed,
    refresh,
    refreshRecent,
    open,
    close,
    trust,
    openFolder,
    openWithPassword,
    sync,
    resetDemo,
    accept
  }
})
