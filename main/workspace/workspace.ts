import { existsSync, mkdirSync } from 'node:fs'
import { EventEmitter } from 'node:events'
import type { CodeProblem, WorkspaceState } from '../../shared/contract/workspace'
import { RpcError } from '../../shared/rpc/errors'
import { CommandBus, type DeciderHandle } from '../cqrs/command-bus'
import { ProjectionManager } from '../projections/manager'
import { SagaCoordinator } from '../sagas/coordinator'
import { Replayer } from '../replay/replayer'
import { sandboxPrelude } from '../sandbox/prelude'
import { Sandbox, userCodeError } from '../sandbox/sandbox'
import type { PostgresStoreOptions } from '../store/postgres-store'
import { ReplicaEventStore } from '../store/replica'
import type { SqliteEventStore } from '../store/sqlite-store'
import { readConfig, writeConfig, type WorkspaceConfig } from './config'
import { deleteDefinitionFile, listDefinitionFiles, writeDefinitionFile, type DefinitionFile } from './definition-files'
import { ensureWorkspaceDir } from './location'
import type { TrustRegistry } from './trust'
import { openWorkspaceStore, type WorkspaceStoreOptions } from './workspace-store'
import { watchDefinitions } from './watcher'

type Described = { kind: 'decider' | 'projection' | 'upcaster' | 'saga'; exportName: string; name: string } & Partial<DeciderHandle>

export interface WorkspaceOptions extends WorkspaceStoreOptions {
  trust: TrustRegistry
  /** Whether to follow definition files changed on disk. */
  watch?: boolean
}

/** The highest revision any workspace of this process reached (see Workspace.revision). */
let lastRevision = 0

/**
 * One open workspace folder: its store, its definition files loaded into a sandbox (only when trusted), its
 * command bus, and a watcher that picks up files edited elsewhere.
 */
export class Workspace {
  readonly dir: string
  readonly store: SqliteEventStore
  readonly sandbox: Sandbox
  readonly commands: CommandBus
  readonly replayer: Replayer
  readonly projections: ProjectionManager
  readonly sagas: SagaCoordinator
  readonly paths: ReturnType<typeof ensureWorkspaceDir>
  config: WorkspaceConfig
  private files: DefinitionFile[] = []
  private definitions: Described[] = []
  private problems: CodeProblem[] = []
  // Goes on from the last workspace opened in this process: a renderer that knew a folder before it was opened again
  // (reset, reopened) takes the new one's states as newer.
  private revision = lastRevision
  private signature = ''
  private stopWatching: (() => void) | null = null
  private readonly emitter = new EventEmitter()
  private loading: Promise<void> = Promise.resolve()

  private constructor(
    paths: ReturnType<typeof ensureWorkspaceDir>,
    config: WorkspaceConfig,
    store: SqliteEventStore,
    private readonly options: WorkspaceOptions
  ) {
    this.paths = paths
    this.dir = paths.dir
    this.config = config
    this.store = store
    this.sandbox = new Sandbox({ timeoutMs: this.config.settings.userCodeTimeoutMs, memoryMb: this.config.settings.userCodeMemoryMb })
    this.projections = new ProjectionManager({
      store: this.store,
      runner: this.sandbox,
      prelude: sandboxPrelude,
      source: (file) => this.sourceOf(file),
      // Read models are published to the server the log lives on.
      server: store instanceof ReplicaEventStore ? { pool: store.remote.newPool(2, 'event-workbench-read-models'), schema: store.remote.schema, ownsPool: true } : undefined,
      upcasters: () => [...new Set(this.definitions.filter((d) => d.kind === 'upcaster').map((d) => d.file ?? ''))].sort().map((file) => [file, this.sourceOf(file)] as [string, string])
    })
    // Commands store their events through the inline projections.
    this.commands = new CommandBus(this.store, this.sandbox, [], (streamId, events, options) => this.projections.append(streamId, events, options))
    this.sagas = new SagaCoordinator({ store: this.store, runner: this.sandbox, send: (command) => this.commands.send(command) })
    this.replayer = new Replayer({ store: this.store, runner: this.sandbox, deciders: () => this.commands.list(), source: (file) => this.sourceOf(file) })
  }

  /** A new sandbox with this workspace's files loaded (for checks that must not share state with the live one). */
  async freshSandbox(): Promise<Sandbox> {
    const sandbox = new Sandbox({ timeoutMs: this.config.settings.userCodeTimeoutMs, memoryMb: this.config.settings.userCodeMemoryMb })
    await sandbox.setFiles(new Map(this.files.map((f) => [f.path, f.source])))
    return sandbox
  }

  /** Opens a folder as a workspace. `createdHere` marks a workspace made by this workbench, which is trusted. */
  static async open(dir: string, options: WorkspaceOptions & { createdHere?: boolean }): Promise<Workspace> {
    const isNew = !existsSync(dir)
    if (isNew) mkdirSync(dir, { recursive: true })
    const paths = ensureWorkspaceDir(dir)
    const config = readConfig(paths.dir)
    const store = await openWorkspaceStore(paths.database, config, options)
    const workspace = new Workspace(paths, config, store, options)
    if (!existsSync(`${workspace.dir}/workbench.json`)) writeConfig(workspace.dir, workspace.config)
    if (options.createdHere || isNew) options.trust.trust(workspace.dir)
    options.trust.remember(workspace.dir, workspace.config.name)
    await workspace.reload(true)
    if (options.watch !== false) workspace.stopWatching = watchDefinitions(workspace.dir, () => void workspace.reload(false))
    return workspace
  }

  get trusted(): boolean {
    return this.options.trust.isTrusted(this.dir)
  }

  onChanged(listener: (state: WorkspaceState) => void): () => void {
    this.emitter.on('changed', listener)
    return () => this.emitter.off('changed', listener)
  }

  state(): WorkspaceState {
    return {
      path: this.dir,
      name: this.config.name,
      description: this.config.description ?? null,
      demo: this.config.demo ?? false,
      trusted: this.trusted,
      files: this.files.map((f) => ({ path: f.path, kind: f.kind, modifiedAt: f.modifiedAt })),
      definitions: this.definitions.map((d) => ({ kind: d.kind, name: d.name, file: d.file ?? '', exportName: d.exportName })),
      problems: this.problems,
      revision: this.revision,
      store: this.storeState()
    }
  }

  /** How a job thread reaches the PostgreSQL store a working copy follows (undefined for a SQLite workspace). */
  postgresConnection(): Pick<PostgresStoreOptions, 'url' | 'schema' | 'password'> | undefined {
    return this.store instanceof ReplicaEventStore ? this.store.remote.connection : undefined
  }

  /** Where the log lives; for a PostgreSQL store, how the working copy stands. */
  storeState(): WorkspaceState['store'] {
    if (this.store instanceof ReplicaEventStore) return { kind: 'postgres', ...this.store.replication() }
    return { kind: 'sqlite', file: this.paths.database }
  }

  /** The source of a loaded definition file, as it was loaded. */
  sourceOf(path: string): string {
    return this.files.find((f) => f.path === path)?.source ?? ''
  }

  readFile(path: string): DefinitionFile {
    const file = listDefinitionFiles(this.dir).find((f) => f.path === path)
    if (!file) throw new RpcError('NotFound', `No definition file ${path} in ${this.config.name}`, { path })
    return file
  }

  async saveFile(path: string, source: string): Promise<WorkspaceState> {
    writeDefinitionFile(this.dir, path, source)
    await this.reload(true)
    return this.state()
  }

  async deleteFile(path: string): Promise<WorkspaceState> {
    deleteDefinitionFile(this.dir, path)
    await this.reload(true)
    return this.state()
  }

  async trust(): Promise<WorkspaceState> {
    this.options.trust.trust(this.dir)
    await this.reload(true)
    return this.state()
  }

  /** The definition files as [path, source] (for jobs that load the code in their own context). */
  definitionSources(): Array<[string, string]> {
    return this.files.map((f) => [f.path, f.source])
  }

  /** Deciders of the loaded code (none while untrusted). */
  deciders(): DeciderHandle[] {
    return this.commands.list()
  }

  /** Throws Untrusted when code may not run yet. */
  assertTrusted(action: string): void {
    if (!this.trusted) {
      throw new RpcError('Untrusted', `${action} runs this workspace's code, and ${this.config.name} is not trusted yet. Trust it in the Workspace panel first.`)
    }
  }

  /** Re-reads the definition files; loads them into a fresh sandbox when trusted. Serialised, so saves never interleave. */
  reload(force: boolean): Promise<void> {
    this.loading = this.loading.then(() => this.doReload(force)).catch((error: unknown) => {
      this.problems = [{ file: '', line: null, column: null, message: `Loading the workspace's code failed: ${error instanceof Error ? error.message : String(error)}`, severity: 'error' }]
      this.emitter.emit('changed', this.state())
    })
    return this.loading
  }

  private async doReload(force: boolean): Promise<void> {
    const files = listDefinitionFiles(this.dir)
    const signature = JSON.stringify([this.trusted, files.map((f) => [f.path, f.source.length, f.modifiedAt])])
    if (!force && signature === this.signature) return
    this.signature = signature
    this.files = files
    // No projection batch runs while the sandbox's code changes under it (let go by setProjections in loadFiles).
    await this.projections.hold()
    try {
      await this.loadFiles(files)
    } finally {
      this.projections.release()
    }
  }

  /** Loads the files into the sandbox (when trusted) and hands their definitions to the buses and engines. */
  private async loadFiles(files: DefinitionFile[]): Promise<void> {
    const problems: CodeProblem[] = []
    const definitions: Described[] = []
    if (this.trusted) {
      const reports = await this.sandbox.setFiles(new Map(files.map((f) => [f.path, f.source])))
      for (const report of reports) {
        if (!report.ok && report.failure) {
          const error = userCodeError(report.failure, `loading ${report.file}`)
          problems.push({ file: report.file, line: report.failure.location?.line ?? null, column: report.failure.location?.column ?? null, message: error.message, severity: 'error' })
          continue
        }
        try {
          const { result } = await this.sandbox.call<Described[]>({ op: 'describe', file: report.file }, `describing ${report.file}`)
          for (const d of result) definitions.push({ ...d, file: report.file })
        } catch (error) {
          const details = (error as RpcError).details as { line?: number; column?: number } | undefined
          problems.push({ file: report.file, line: details?.line ?? null, column: details?.column ?? null, message: (error as Error).message, severity: 'error' })
        }
      }
      // The upcaster chains as a whole: gaps and two steps for one version are refused, on the file that adds them.
      if (definitions.some((d) => d.kind === 'upcaster')) {
        try {
          const { result } = await this.sandbox.call<{ problems: Array<{ file: string; message: string }> }>({ op: 'upcast.registry' }, 'checking the upcasters')
          for (const p of result.problems) problems.push({ file: p.file, line: null, column: null, message: p.message, severity: 'error' })
        } catch (error) {
          problems.push({ file: '', line: null, column: null, message: `The upcasters could not be checked: ${(error as Error).message}`, severity: 'error' })
        }
      }
      const seen = new Map<string, string>()
      for (const d of definitions) {
        const key = `${d.kind}:${d.name}`
        if (seen.has(key)) problems.push({ file: d.file!, line: null, column: null, message: `${d.kind} ${d.name} is also defined in ${seen.get(key)}`, severity: 'warning' })
        else seen.set(key, d.file!)
      }
    }
    this.definitions = definitions
    this.problems = problems
    this.commands.setDeciders(
      definitions
        .filter((d) => d.kind === 'decider')
        .map((d) => ({
          name: d.name,
          exportName: d.exportName,
          file: d.file!,
          streamPrefix: d.streamPrefix ?? d.name,
          description: d.description ?? null,
          snapshotEvery: d.snapshotEvery ?? null,
          commands: d.commands ?? []
        }))
    )
    // Projections follow the log with the code just loaded (none while untrusted).
    try {
      const projectionFiles = [...new Set(definitions.filter((d) => d.kind === 'projection').map((d) => d.file!))]
      this.projections.setProjections(this.trusted ? await this.projections.describeFiles(projectionFiles) : [])
    } catch (error) {
      problems.push({ file: '', line: null, column: null, message: `Projections could not be read: ${(error as Error).message}`, severity: 'error' })
    }
    // Sagas follow the log with the code just loaded (none while untrusted).
    try {
      const sagaFiles = [...new Set(definitions.filter((d) => d.kind === 'saga').map((d) => d.file!))]
      await this.sagas.setSagas(this.trusted ? await this.sagas.describeFiles(sagaFiles) : [])
      for (const p of this.sagas.problems()) problems.push({ file: p.file, line: null, column: null, message: p.message, severity: 'warning' })
    } catch (error) {
      const details = (error as RpcError).details as { file?: string; line?: number; column?: number } | undefined
      problems.push({ file: details?.file ?? '', line: details?.line ?? null, column: details?.column ?? null, message: `Sagas could not be read: ${(error as Error).message}`, severity: 'error' })
    }
    this.revision++
    lastRevision = Math.max(lastRevision, this.revision)
    this.emitter.emit('changed', this.state())
  }

  async close(): Promise<void> {
    this.stopWatching?.()
    await this.loading
    await this.sagas.close()
    await this.projections.close()
    await this.sandbox.close()
    await this.store.close()
  }
}
