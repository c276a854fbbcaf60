import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import type { CodeProblem, WorkspaceState } from '../../../shared/contract'
import type { DefinitionKind } from '../../../shared/model/definitions'
import { useConnectionStore } from './connection'
import { describeError } from './errors'
import { useWorkspaceStore, sortProblems } from './workspace'

/** An open file: what the editor holds, what was last read or saved, and what happened on disk since. */
export interface CodeBuffer {
  path: string
  source: string
  savedSource: string
  modifiedAt: number
  /** The file changed on disk while it had unsaved edits here. */
  changedOnDisk: boolean
  /** The file is gone from disk (deleted elsewhere). */
  deleted: boolean
}

const fileName = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,100}$/

/** `refunds` or `refunds.ts` → `projections/refunds.ts`; null with a reason when the name cannot be a file. */
export function newFilePath(kind: DefinitionKind, name: string): { path: string } | { error: string } {
  const base = name.trim().replace(/\.ts$/, '')
  if (!base) return { error: 'Enter a file name' }
  if (!fileName.test(base) || base.endsWith('.d')) return { error: 'Use letters, digits, - _ and . only (no folders)' }
  return { path: `${kind}/${base}.ts` }
}

const identifier = (name: string) => name.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : '')).replace(/^[0-9]+/, '') || 'thing'

/** A projection's name from a file name: letters, digits and single underscores (its tables are named after it). */
export function projectionName(name: string): string {
  return name.replace(/[^A-Za-z0-9]+/g, '_').replace(/^[^A-Za-z]+/, '').replace(/_+$/, '') || 'projection'
}

/** What a new file starts with: the smallest definition of its kind that loads. */
export function templateFor(kind: DefinitionKind, name: string): string {
  const id = identifier(name)
  switch (kind) {
    case 'domain':
      return `import { defineDecider, reject, z } from 'workbench'

// One ${id}: what it decides, and from which events it knows its state.

const commands = {
  Open${id[0].toUpperCase()}${id.slice(1)}: z.object({ id: z.string().min(1) })
}

type State = { opened: boolean }

export default defineDecider<State>({
  name: '${name}',
  streamPrefix: '${id}',
  commands,
  streamId: (command) => \`${id}-\${command.data.id}\`,
  initialState: () => ({ opened: false }),
  evolve: (state, event) => {
    // The log's event types are known to the editor; a type this decider is the first to write is not yet.
    const e: { type: string } = event
    return e.type === 'Opened' ? { opened: true } : state
  },
  decide: (command, state) => {
    if (state.opened) reject('AlreadyOpen', \`${id} \${command.data.id} is open already\`)
    return { type: 'Opened', data: { id: command.data.id } }
  }
})
`
    case 'projections':
      return `import { defineProjection } from 'workbench'

// What ${name} keeps: one row per event type it reads, with how many came and when the last one did.

export default defineProjection({
  name: '${projectionName(name)}',
  from: 'all',
  tables: {
    counts: {
      columns: { type: 'text', events: 'integer', lastAt: 'integer' },
      key: ['type'],
      indexes: [['events']]
    }
  },
  handlers: {
    // One handler per event type: what it writes to the tables.
    OrderPlaced(event, ctx) {
      const row = ctx.get('counts', event.type)
      ctx.upsert('counts', { type: event.type, events: (row?.events ?? 0) + 1, lastAt: event.recordedAt })
    }
  }
})
`
    case 'upcasters':
      return `import { defineUpcaster } from 'workbench'\n\nexport default defineUpcaster({\n  name: '${name}'\n})\n`
    case 'sagas':
      return `import { defineSaga } from 'workbench'\n\nexport default defineSaga({\n  name: '${name}'\n})\n`
  }
}

function definition(kind: DefinitionKind) {
  return defineStore(`code-${kind}`, () => {
    const connection = useConnectionStore()
    const workspace = useWorkspaceStore()
    const buffers = ref<Record<string, CodeBuffer>>({})
    const openPath = ref<string | null>(null)
    const reading = ref<Record<string, true>>({})
    const saving = ref<string | null>(null)
    const error = ref<string | null>(null)
    // Buffers belong to the workspace that was open when they were read.
    let workspacePath: string | null = workspace.state?.path ?? null
    let request = 0
    const latest = new Map<string, number>()

    const files = computed(() => workspace.filesByKind[kind])
    const current = computed(() => (openPath.value ? buffers.value[openPath.value] ?? null : null))
    const dirty = (path: string) => {
      const b = buffers.value[path]
      return b !== undefined && b.source !== b.savedSource
    }
    const loading = computed(() => openPath.value !== null && reading.value[openPath.value] === true)
    const currentDirty = computed(() => (openPath.value ? dirty(openPath.value) : false))
    /** The engine's problems with the open file (load and runtime errors), by line. */
    const problems = computed<CodeProblem[]>(() => (openPath.value ? sortProblems((workspace.state?.problems ?? []).filter((p) => p.file === openPath.value)) : []))
    const definitions = computed(() => (openPath.value ? (workspace.state?.definitions ?? []).filter((d) => d.file === openPath.value) : []))

    function put(buffer: CodeBuffer): void {
      buffers.value = { ...buffers.value, [buffer.path]: buffer }
    }

    async function read(path: string): Promise<void> {
      workspacePath ??= workspace.state?.path ?? null
      const mine = ++request
      latest.set(path, mine)
      reading.value = { ...reading.value, [path]: true }
      if (openPath.value === path) error.value = null
      try {
        const file = await connection.rpc().workspace.readFile({ path })
        if (latest.get(path) !== mine) return
        const known = buffers.value[path]
        // Edits typed while the file was being read are kept; the person decides.
        if (known && dirty(path)) put({ ...known, modifiedAt: file.modifiedAt, changedOnDisk: known.savedSource !== file.source })
        else put({ path, source: file.source, savedSource: file.source, modifiedAt: file.modifiedAt, changedOnDisk: false, deleted: false })
      } catch (e) {
        if (latest.get(path) === mine && openPath.value === path) error.value = `Could not read ${path}: ${describeError(e)}`
      } finally {
        if (latest.get(path) === mine) {
          const { [path]: _done, ...rest } = reading.value
          reading.value = rest
        }
      }
    }

    /** Shows a file: from its buffer when it has unsaved edits, read from disk otherwise. */
    async function openFile(path: string): Promise<void> {
      openPath.value = path
      error.value = null
      if (buffers.value[path] && (dirty(path) || buffers.value[path].changedOnDisk)) return
      await read(path)
    }

    function closeFile(): void {
      openPath.value = null
    }

    function edit(source: string): void {
      const b = current.value
      if (b && b.source !== source) put({ ...b, source })
    }

    async function save(): Promise<void> {
      const b = current.value
      if (!b || saving.value) return
      const { path, source } = b
      saving.value = path
      error.value = null
      try {
        const next = await connection.rpc().workspace.saveFile({ path, source })
        workspace.accept(next)
        const latest = buffers.value[path] ?? b
        const modifiedAt = next.files.find((f) => f.path === path)?.modifiedAt ?? Date.now()
        put({ ...latest, savedSource: source, modifiedAt, changedOnDisk: false, deleted: false })
      } catch (e) {
        error.value = `Could not save ${path}: ${describeError(e)}`
      } finally {
        saving.value = null
      }
    }

    /** Creates a file from the template of this kind and opens it. */
    async function createFile(name: string): Promise<boolean> {
      const target = newFilePath(kind, name)
      if ('error' in target) {
        error.value = target.error
        return false
      }
      if (workspace.state?.files.some((f) => f.path === target.path)) {
        error.value = `${target.path} exists already`
        return false
      }
      error.value = null
      try {
        const source = templateFor(kind, name.trim().replace(/\.ts$/, ''))
        const next = await connection.rpc().workspace.saveFile({ path: target.path, source })
        workspace.accept(next)
        const modifiedAt = next.files.find((f) => f.path === target.path)?.modifiedAt ?? Date.now()
        put({ path: target.path, source, savedSource: source, modifiedAt, changedOnDisk: false, deleted: false })
        openPath.value = target.path
        return true
      } catch (e) {
        error.value = `Could not create ${target.path}: ${describeError(e)}`
        return false
      }
    }

    async function deleteFile(path: string): Promise<boolean> {
      error.value = null
      try {
        workspace.accept(await connection.rpc().workspace.deleteFile({ path }))
        const { [path]: _gone, ...rest } = buffers.value
        buffers.value = rest
        if (openPath.value === path) openPath.value = null
        return true
      } catch (e) {
        error.value = `Could not delete ${path}: ${describeError(e)}`
        return false
      }
    }

    /** Drops unsaved edits and reads the file as it is on disk. */
    async function revert(): Promise<void> {
      const b = current.value
      if (!b) return
      put({ ...b, source: b.savedSource, changedOnDisk: false })
      await read(b.path)
    }

    /** Keeps the edits here; the next save overwrites what changed on disk. */
    function keepMine(): void {
      const b = current.value
      if (b) put({ ...b, changedOnDisk: false })
    }

    /** A file saved elsewhere: reloaded when it has no unsaved edits here, flagged when it has. */
    function follow(next: WorkspaceState | null): void {
      if (!next) return
      if (workspacePath !== null && next.path !== workspacePath) {
        buffers.value = {}
        openPath.value = null
      }
      workspacePath = next.path
      for (const b of Object.values(buffers.value)) {
        if (b.path === saving.value) continue
        const file = next.files.find((f) => f.path === b.path)
        if (!file) {
          if (!b.deleted) put({ ...b, deleted: true })
          continue
        }
        if (file.modifiedAt <= b.modifiedAt && !b.deleted) continue
        if (dirty(b.path)) put({ ...b, changedOnDisk: true, deleted: false, modifiedAt: file.modifiedAt })
        else void read(b.path)
      }
    }
    watch(() => workspace.state, follow)

    return { buffers, openPath, loading, saving, error, files, current, currentDirty, problems, definitions, dirty, openFile, closeFile, edit, save, createFile, deleteFile, revert, keepMine, follow }
  })
}

const definitions = new Map<DefinitionKind, ReturnType<typeof definition>>()

/** The code panel of one kind of definition file (domain, projections, upcasters, sagas). */
export function useCodeStore(kind: DefinitionKind) {
  let use = definitions.get(kind)
  if (!use) definitions.set(kind, (use = definition(kind)))
  return use()
}

export type CodeStore = ReturnType<typeof useCodeStore>
