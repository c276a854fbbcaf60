import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { randomUUID } from 'node:crypto'
import { categoryOf } from '../shared/model/events'
import { contract, type SentCommand, type WorkbenchContract, type WorkbenchInfo } from '../shared/contract'
import { EventHub } from '../shared/rpc/events'
import { RpcError } from '../shared/rpc/errors'
import type { Implementation } from '../shared/rpc/contract'
import { APP_NAME, APP_VERSION } from './app-info'
import { JobManager } from './jobs/manager'
import { sandboxPrelude } from './sandbox/prelude'
import type { JobTask } from './jobs/tasks'
import { schemaInference } from './versioning/schemas'
import { readMigration } from './versioning/migrate'
import { causationGraph } from './sagas/choreography'
import type { UpcasterRegistry } from '../shared/contract/upcasting'
import type { RecordedEvent } from '../shared/model/events'
import { ensureDemoWorkspace } from './workspace/demo-setup'
import { demoHistoryFiles } from './workspace/demo-template'
import { workspaceTypings } from './workspace/event-typings'
import { defaultWorkspaceDir } from './workspace/location'
import { TrustRegistry } from './workspace/trust'
import { Workspace } from './workspace/workspace'
import { configForPostgres, readConfig, writeConfig, CONFIG_FILE } from './workspace/config'
import { MemoryCredentials, type Credentials } from './workspace/credentials'
import { ReplicaEventStore } from './store/replica'

export interface WorkbenchOptions {
  host: WorkbenchInfo['host']
  /** The workspace folder; absent opens the demo shop in the workbench's home folder (made on first run). */
  workspaceDir?: string | null
  /** Whether export results link to a download (the browser host serves /exports/). */
  downloads?: boolean
  /** Where trust and recent workspaces are kept (tests use a temporary one). */
  trust?: TrustRegistry
  /** Seed the demo log when the demo is created (tests may skip it). */
  seedDemo?: boolean
  /** How many events the demo log gets (default about 100,000). */
  demoEvents?: number
  /** Passwords of PostgreSQL stores (the desktop app's keychain; default: memory and ESW_PG_PASSWORD). */
  credentials?: Credentials
}

/** How a folder is opened: made if missing, pointed at a PostgreSQL store, with a password for it. */
interface OpenRequest {
  create: boolean
  postgres?: { url: string; schema?: string }
  password?: string
  rememberPassword?: boolean
}

/** Every service of one workbench, ready to be served over any transport. */
export interface Workbench {
  contract: WorkbenchContract
  implementation: Implementation<WorkbenchContract>
  events: EventHub<WorkbenchContract>
  jobs: JobManager
  /** The open workspace (it changes when another one is opened). */
  workspace(): Workspace
  exportsDir: string
  close(): Promise<void>
}

/** The composition root: builds every service, for whichever workspace is open. */
export async function openWorkbench(options: WorkbenchOptions): Promise<Workbench> {
  const events = new EventHub<WorkbenchContract>()
  const trust = options.trust ?? new TrustRegistry()
  const credentials = options.credentials ?? new MemoryCredentials()
  // A short busy timeout: the main thread never blocks on another writer; appends retry asynchronously.
  const busyTimeoutMs = options.host === 'test' ? 5000 : 50
  const history: SentCommand[] = []
  const uploads = new Map<string, { file: string; received: number }>()
  let unbind: Array<() => void> = []

  const jobs = new JobManager({
    onUpdate: (job) => events.emit('jobs', 'updated', job),
    finish: (task, result) => {
      if (task.kind !== 'export') return result
      const r = result as { events: number; bytes: number }
      const fileName = basename(task.outFile)
      return { file: task.outFile, fileName, events: r.events, bytes: r.bytes, downloadUrl: options.downloads ? `/exports/${encodeURIComponent(fileName)}` : null }
    },
    cleanup: (task) => {
      if (task.kind === 'import' && task.inFile.startsWith(current.paths.uploads)) rmSync(task.inFile, { force: true })
      // The generated log is in: load it, and let the sagas follow what comes after it.
      if (task.kind === 'seed') void current.reload(true).then(() => current.sagas.resume())
    }
  })

  const openFolder = async (dir: string | null, request: OpenRequest): Promise<Workspace> => {
    const storeOptions = { trust, busyTimeoutMs, credentials, password: request.password, rememberPassword: request.rememberPassword }
    if (dir === null) {
      const demoDir = defaultWorkspaceDir()
      const seed = ensureDemoWorkspace(demoDir, trust)
      const ws = await Workspace.open(demoDir, storeOptions)
      if (seed && options.seedDemo !== false) {
        // The generator writes the history: the sagas must not act on it.
        ws.sagas.pause()
        jobs.start({ kind: 'seed', dbFile: ws.paths.database, dir: demoDir, prelude: sandboxPrelude(), historyFiles: demoHistoryFiles, targetEvents: options.demoEvents }, 'Generating the demo shop log')
      }
      return ws
    }
    const existed = existsSync(dir)
    if (!request.create && !existed) throw new RpcError('NotFound', `No folder ${dir}`, { field: 'path' })
    const configFile = join(dir, CONFIG_FILE)
    const configBefore = existed && existsSync(configFile) ? readFileSync(configFile, 'utf8') : null
    if (request.postgres) pointAtPostgres(dir, request.postgres)
    try {
      return await Workspace.open(dir, { ...storeOptions, createdHere: request.create && !existed })
    } catch (error) {
      // A folder pointed at a server that could not be opened is left as it was (a new one not at all), so the same
      // request can be made again with the password.
      if (!existed) rmSync(dir, { recursive: true, force: true })
      else if (request.postgres) {
        if (configBefore !== null) writeFileSync(configFile, configBefore)
        else rmSync(configFile, { force: true })
        // A working copy begun before the failure (pointAtPostgres refuses a folder with an events.db of its own).
        for (const suffix of ['', '-wal', '-shm']) rmSync(join(dir, `events.db${suffix}`), { force: true })
      }
      throw error
    }
  }

  /** Writes a workspace's workbench.json so that its log lives in PostgreSQL. */
  const pointAtPostgres = (dir: string, postgres: NonNullable<OpenRequest['postgres']>) => {
    const config = configForPostgres(dir, postgres)
    mkdirSync(dir, { recursive: true })
    writeConfig(dir, config)
  }

  // A working copy of a PostgreSQL log: the Workspace panel's position against the server and its sync error follow
  // appends and the server coming and going (at most once a second).
  const followReplication = (ws: Workspace): (() => void) => {
    if (!(ws.store instanceof ReplicaEventStore)) return () => {}
    let timer: NodeJS.Timeout | null = null
    const soon = () => {
      timer ??= setTimeout(() => {
        timer = null
        events.emit('workspace', 'changed', ws.state())
      }, 1000)
    }
    const stops = [ws.store.onAppended(soon), ws.store.onReplication(soon)]
    return () => {
      for (const stop of stops) stop()
      if (timer) clearTimeout(timer)
    }
  }

  const bind = (ws: Workspace) => {
    for (const stop of unbind) stop()
    unbind = [
      ws.store.onAppended((notice) => events.emit('store', 'appended', notice)),
      ws.onChanged((state) => events.emit('workspace', 'changed', state)),
      ws.projections.on('status', (status) => events.emit('projections', 'status', status)),
      ws.projections.on('progress', (progress) => events.emit('projections', 'progress', progress)),
      ws.sagas.on('instance', (instance) => events.emit('sagas', 'instance', instance)),
      ws.sagas.on('errors', (errors) => events.emit('sagas', 'errors', { errors })),
      schemaInference(ws.store).follow((update) => events.emit('versioning', 'updated', update)),
      followReplication(ws)
    ]
  }

  const startOpen = async (): Promise<Workspace> => {
    if (!options.workspaceDir) return openFolder(null, { create: true })
    try {
      return await openFolder(resolve(options.workspaceDir), { create: true })
    } catch (error) {
      // A workspace whose log is on a PostgreSQL server that cannot be opened now (a password, the network, a working
      // copy that needs a fresh start): the workbench starts on the demo, and the Workspace panel opens it again.
      const onServer = (() => {
        try {
          return readConfig(resolve(options.workspaceDir!)).store?.kind === 'postgres'
        } catch {
          return false
        }
      })()
      if (!onServer) throw error
      console.warn(`${(error as Error).message}; opening the demo shop instead`)
      return openFolder(null, { create: true })
    }
  }
  let current = await startOpen()
  bind(current)

  const switchTo = async (next: Workspace) => {
    const old = current
    current = next
    bind(next)
    history.length = 0
    await old.close()
    events.emit('workspace', 'changed', next.state())
    return next.state()
  }

  const notFound = (what: string) => new RpcError('NotFound', what)

  const record = (entry: SentCommand) => {
    history.unshift(entry)
    if (history.length > 500) history.pop()
    events.emit('commands', 'sent', entry)
  }

  const implementation: Implementation<WorkbenchContract> = {
    workbench: {
      info: () => ({
        appName: APP_NAME,
        appVersion: APP_VERSION,
        workspacePath: current.dir,
        workspaceName: current.config.name,
        trusted: current.trusted,
        host: options.host,
        capabilities: ['store', 'workspaces', 'commands', 'replay', 'projections', 'upcasters', 'sagas']
      }),
      ping: () => ({ pong: true as const, serverTime: Date.now() }),
      echo: ({ text, repeat }) => {
        const out = text.repeat(repeat ?? 1)
        events.emit('workbench', 'echoed', { text: out, at: Date.now() })
        return { text: out }
      }
    },
    store: {
      append: ({ streamId, events: newEvents, expectedVersion }) => current.projections.append(streamId, newEvents, { expectedVersion }),
      readStream: ({ streamId, from, direction, limit }) => current.store.readStream(streamId, { from, direction, limit }),
      readAll: ({ filter, from, direction, limit }) => current.store.readAll({ filter, from, direction, limit }),
      readEvent: async (by) => {
        const event = await current.store.readEvent(by)
        if (!event) throw notFound('position' in by ? `No event at position ${by.position}` : `No event with id ${by.id}`)
        return event
      },
      listStreams: (input) => current.store.listStreams(input),
      streamInfo: async ({ streamId }) => {
        const info = await current.store.streamInfo(streamId)
        if (!info) throw notFound(`Stream ${streamId} does not exist`)
        return info
      },
      setStreamMetadata: ({ streamId, metadata }) => current.store.setStreamMetadata(streamId, metadata),
      deleteStream: ({ streamId, expectedVersion, mode }) => current.store.deleteStream(streamId, { expectedVersion, mode }),
      stats: () => current.store.stats()
    },
    jobs: {
      startExport: ({ filter, upcast }) => {
        const stamp = new Date().toISOString().replace(/[:.]/g, '-')
        const outFile = join(current.paths.exports, `events-${stamp}${upcast ? '-as-read' : ''}.ndjson`)
        if (upcast) current.assertTrusted('Exporting events as read')
        const task: JobTask = { kind: 'export', dbFile: current.paths.database, outFile, filter, ...(upcast ? { upcast: { prelude: sandboxPrelude(), files: current.definitionSources() } } : {}) }
        return jobs.start(task, `Export to ${basename(outFile)}`)
      },
      beginUpload: () => {
        const uploadId = randomUUID()
        const file = join(current.paths.uploads, `${uploadId}.ndjson`)
        appendFileSync(file, '')
        uploads.set(uploadId, { file, received: 0 })
        return { uploadId }
      },
      uploadChunk: ({ uploadId, text }) => {
        const upload = uploads.get(uploadId)
        if (!upload) throw notFound(`No upload ${uploadId}`)
        appendFileSync(upload.file, text)
        upload.received += Buffer.byteLength(text)
        return { received: upload.received }
      },
      startImport: async ({ uploadId }) => {
        const upload = uploads.get(uploadId)
        if (!upload || !existsSync(upload.file)) throw notFound(`No upload ${uploadId}`)
        uploads.delete(uploadId)
        // Into a PostgreSQL store: checked against an up-to-date working copy, then written to the server.
        const postgres = current.postgresConnection()
        if (current.store instanceof ReplicaEventStore) await current.store.sync()
        return jobs.start({ kind: 'import', dbFile: current.paths.database, inFile: upload.file, ...(postgres ? { postgres } : {}) }, `Import (${statSync(upload.file).size} bytes)`)
      },
      startScavenge: async () => {
        // A PostgreSQL store: the server first, then its working copy, with the metadata and deletes others made copied.
        if (current.store instanceof ReplicaEventStore) {
          await current.store.sync({ streams: true })
          return jobs.start({ kind: 'scavenge', dbFile: current.paths.database, postgres: current.store.remote.connection }, 'Scavenge (the PostgreSQL store and its working copy)')
        }
        return jobs.start({ kind: 'scavenge', dbFile: current.paths.database }, 'Scavenge')
      },
      cancel: ({ jobId }) => jobs.cancel(jobId),
      list: () => jobs.list()
    },
    workspace: {
      state: () => current.state(),
      trust: () => current.trust(),
      readFile: ({ path }) => {
        const file = current.readFile(path)
        return { path: file.path, source: file.source, modifiedAt: file.modifiedAt }
      },
      saveFile: ({ path, source }) => current.saveFile(path, source),
      deleteFile: ({ path }) => current.deleteFile(path),
      typings: async () => {
        const inference = schemaInference(current.store)
        await inference.catchUp()
        return workspaceTypings(inference.list())
      },
      recent: () => trust.recent(),
      open: async ({ path, create, postgres, password, rememberPassword }) => switchTo(await openFolder(resolve(path), { create, postgres, password, rememberPassword })),
      sync: async () => {
        if (!(current.store instanceof ReplicaEventStore)) throw new RpcError('InvalidInput', `${current.config.name} keeps its log in events.db: there is no server to sync with`)
        await current.store.sync({ streams: true })
        return current.state()
      },
      credentialsInfo: () => ({ canRemember: credentials.canRemember }),
      resetDemo: async () => {
        const demoDir = defaultWorkspaceDir()
        if (current.dir === demoDir) await current.close()
        rmSync(demoDir, { recursive: true, force: true })
        const next = await openFolder(null, { create: true })
        if (current.dir === demoDir) {
          current = next
          bind(next)
          history.length = 0
          events.emit('workspace', 'changed', next.state())
          return next.state()
        }
        return switchTo(next)
      }
    },
    commands: {
      deciders: () => current.deciders().map(({ exportName: _e, ...info }) => info),
      send: async (input) => {
        current.assertTrusted(`Sending ${input.command}`)
        const base = { decider: input.decider, command: input.command, data: input.data, sentAt: Date.now() }
        try {
          const outcome = await current.commands.send(input)
          record({
            ...base,
            commandId: outcome.commandId,
            outcome: outcome.outcome,
            streamId: outcome.streamId,
            summary:
              outcome.outcome === 'accepted'
                ? `${outcome.events.length} event${outcome.events.length === 1 ? '' : 's'}: ${outcome.events.map((e) => e.type).join(', ') || 'none'}`
                : `${outcome.rule}: ${outcome.message}`
          })
          return outcome
        } catch (error) {
          const e = error instanceof RpcError ? error : new RpcError('Internal', String(error))
          record({ ...base, commandId: randomUUID(), outcome: e.code === 'InvalidInput' ? 'invalid' : 'failed', streamId: null, summary: e.message })
          throw e
        }
      },
      history: () => history
    },
    replay: {
      deciderFor: ({ streamId }) => {
        const candidates = current.deciders().map((d) => ({ name: d.name, streamPrefix: d.streamPrefix }))
        const prefix = categoryOf(streamId)
        return { decider: candidates.find((c) => c.streamPrefix === prefix)?.name ?? null, candidates }
      },
      stateAt: ({ streamId, decider, at, useSnapshots }) => {
        current.assertTrusted('Replay')
        return current.replayer.stateAt(streamId, { decider, at, useSnapshots })
      },
      steps: ({ streamId, decider, fromVersion, limit }) => {
        current.assertTrusted('Replay')
        return current.replayer.steps(streamId, { decider, fromVersion, limit })
      },
      blame: ({ streamId, decider, at }) => {
        current.assertTrusted('Replay')
        return current.replayer.blame(streamId, { decider, at })
      },
      fixture: ({ streamId, decider, givenUpTo, thenUpTo }) => {
        current.assertTrusted('Replay')
        return current.replayer.fixture(streamId, { decider, givenUpTo, thenUpTo })
      },
      checkDeterminism: async ({ streamId, decider }) => {
        current.assertTrusted('The determinism check')
        const [a, b] = await Promise.all([current.freshSandbox(), current.freshSandbox()])
        try {
          return await current.replayer.checkDeterminism(streamId, a, b, { decider })
        } finally {
          await Promise.all([a.close(), b.close()])
        }
      },
      startReplay: ({ category, decider }) => {
        current.assertTrusted('Replay')
        return jobs.start(
          { kind: 'replay', dbFile: current.paths.database, dir: current.dir, prelude: sandboxPrelude(), category, decider },
          `Replay ${category ? `of category ${category}` : 'of the whole log'}${decider ? ` with ${decider}` : ''}`
        )
      },
      purgeSnapshots: ({ decider, staleOnly }) => ({ removed: current.replayer.purge({ decider, staleOnly }) })
    },
    projections: {
      list: () => current.projections.list(),
      describe: ({ projection }) => ({ descriptor: current.projections.descriptor(projection), status: current.projections.status(projection) }),
      rebuild: ({ projection }) => current.projections.startRebuild(projection),
      pause: ({ projection }) => current.projections.pause(projection),
      resume: ({ projection }) => current.projections.resume(projection),
      reset: ({ projection }) => current.projections.reset(projection),
      retry: ({ projection }) => current.projections.retry(projection),
      skip: ({ projection }) => current.projections.skip(projection),
      cancel: ({ projection }) => current.projections.cancelJob(projection),
      shadowStart: ({ projection }) => {
        void current.projections.shadowStart(projection).catch(() => {})
        return current.projections.status(projection)
      },
      shadowDiff: ({ projection, samples }) => current.projections.shadowDiff(projection, samples),
      shadowPromote: ({ projection }) => current.projections.shadowPromote(projection),
      shadowDiscard: ({ projection }) => current.projections.shadowDiscard(projection),
      check: ({ projection, check }) => current.projections.check(projection, check),
      page: (input) => current.projections.page(input),
      runQuery: (input) => current.projections.runQuery(input)
    },
    sagas: {
      list: () => ({ sagas: current.sagas.list(), problems: current.sagas.problems(), errors: current.sagas.recentErrors() }),
      instances: (input) => current.sagas.instancesList(input),
      instance: ({ streamId }) => current.sagas.instance(streamId),
      injectFault: (fault) => {
        current.assertTrusted('Injecting a fault')
        return { armed: current.sagas.injectFault(fault) }
      },
      faults: () => ({ armed: current.sagas.armedFaults() }),
      clearFaults: ({ saga }) => ({ armed: current.sagas.clearFaults(saga) }),
      clock: () => ({ now: current.sagas.clock.now(), offsetMs: current.sagas.clock.offsetMs() }),
      advanceClock: ({ ms }) => {
        const now = current.sagas.clock.advance(ms)
        return { now, offsetMs: current.sagas.clock.offsetMs() }
      },
      choreography: ({ correlationId, limit }) => causationGraph(current.store, correlationId, limit),
      startBranch: ({ position, inject }) => {
        current.assertTrusted('A branch')
        if (position > current.store.head()) throw new RpcError('InvalidInput', `Position ${position} is past the head of the log (${current.store.head()})`, { field: 'position' })
        return jobs.start(
          { kind: 'branch', dbFile: current.paths.database, prelude: sandboxPrelude(), files: current.definitionSources(), position, inject, clockOffsetMs: current.sagas.clock.offsetMs() },
          `Branch at position ${position}: ${inject.kind === 'event' ? `${inject.type} in ${inject.streamId}` : `clock +${Math.round(inject.ms / 1000)} s`}`
        )
      }
    },
    upcasters: {
      registry: async () => {
        if (!current.trusted) return { steps: [], problems: [] }
        return (await current.sandbox.call<UpcasterRegistry>({ op: 'upcast.registry' }, 'the upcasters')).result
      },
      readStream: async ({ streamId, from, limit }) => {
        current.assertTrusted('Reading events as read')
        const page = current.store.readStreamSync(streamId, { from, limit })
        const { result } = await current.sandbox.call<RecordedEvent[]>({ op: 'upcast.apply', events: page.events }, `reading ${streamId} through the upcasters`)
        return { streamId, events: result, version: page.version, next: page.next }
      },
      startDryRun: ({ types }) => {
        current.assertTrusted('A dry-run')
        return jobs.start({ kind: 'dry-run', dbFile: current.paths.database, prelude: sandboxPrelude(), files: current.definitionSources(), types }, types?.length ? `Dry-run of the upcasters of ${types.join(', ')}` : 'Dry-run of the upcasters')
      },
      startMigration: ({ target }) => {
        current.assertTrusted('A migration')
        const dir = resolve(target)
        return jobs.start({ kind: 'migrate', dbFile: current.paths.database, dir: current.dir, target: dir, prelude: sandboxPrelude(), files: current.definitionSources() }, `Migration to ${basename(dir)}`)
      },
      switchTo: async ({ target }) => {
        const dir = resolve(target)
        const migration = readMigration(dir)
        if (!migration) throw new RpcError('NotFound', `${dir} holds no migration`, { field: 'target' })
        if (!migration.verified) throw new RpcError('Conflict', `The migration into ${dir} did not pass verification; the workspace stays on its old store`, { field: 'target' })
        // Made by this workbench from a trusted workspace: trusted too.
        if (current.trusted) trust.trust(dir)
        await switchTo(await openFolder(dir, { create: false }))
        return { dir }
      }
    },
    versioning: {
      // Caught up before answering: the shapes include every event appended before the request.
      schemas: async ({ type }) => {
        const inference = schemaInference(current.store)
        await inference.catchUp()
        return inference.list(type)
      },
      drift: async ({ type, buckets }) => {
        const inference = schemaInference(current.store)
        await inference.catchUp()
        return inference.drift(type, buckets)
      }
    }
  }

  return {
    contract,
    implementation,
    events,
    jobs,
    workspace: () => current,
    get exportsDir() {
      return current.paths.exports
    },
    close: async () => {
      for (const stop of unbind) stop()
      await jobs.idle()
      await current.close()
    }
  }
}
