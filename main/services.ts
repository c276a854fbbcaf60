import { appendFileSync, existsSync, rmSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { contract, type WorkbenchContract, type WorkbenchInfo } from '../shared/contract'
import { EventHub } from '../shared/rpc/events'
import { RpcError } from '../shared/rpc/errors'
import type { Implementation } from '../shared/rpc/contract'
import { APP_NAME, APP_VERSION } from './app-info'
import { JobManager } from './jobs/manager'
import type { JobTask } from './jobs/tasks'
import { SqliteEventStore } from './store/sqlite-store'
import { defaultWorkspaceDir, ensureWorkspaceDir } from './workspace/location'

export interface WorkbenchOptions {
  host: WorkbenchInfo['host']
  /** The workspace folder; absent opens the default workspace in the workbench's home folder. */
  workspaceDir?: string | null
  /** Whether export results link to a download (the browser host serves /exports/). */
  downloads?: boolean
}

/** Every service of one workbench, ready to be served over any transport. */
export interface Workbench {
  contract: WorkbenchContract
  implementation: Implementation<WorkbenchContract>
  events: EventHub<WorkbenchContract>
  store: SqliteEventStore
  jobs: JobManager
  workspaceDir: string
  exportsDir: string
  close(): Promise<void>
}

/** The composition root: builds every service for one workspace. */
export async function openWorkbench(options: WorkbenchOptions): Promise<Workbench> {
  const events = new EventHub<WorkbenchContract>()
  const paths = ensureWorkspaceDir(options.workspaceDir ?? defaultWorkspaceDir())
  // A short busy timeout: the main thread never blocks on another writer; appends retry asynchronously.
  const store = new SqliteEventStore(paths.database, { busyTimeoutMs: options.host === 'test' ? 5000 : 50 })
  const stopAppended = store.onAppended((notice) => events.emit('store', 'appended', notice))
  const uploads = new Map<string, { file: string; received: number; expected: number }>()

  const jobs = new JobManager({
    onUpdate: (job) => events.emit('jobs', 'updated', job),
    finish: (task, result) => {
      if (task.kind !== 'export') return result
      const r = result as { events: number; bytes: number }
      const fileName = basename(task.outFile)
      return { file: task.outFile, fileName, events: r.events, bytes: r.bytes, downloadUrl: options.downloads ? `/exports/${encodeURIComponent(fileName)}` : null }
    },
    cleanup: (task) => {
      if (task.kind === 'import' && task.inFile.startsWith(paths.uploads)) rmSync(task.inFile, { force: true })
    }
  })

  const notFound = (what: string) => new RpcError('NotFound', what)

  const implementation: Implementation<WorkbenchContract> = {
    workbench: {
      info: () => ({
        appName: APP_NAME,
        appVersion: APP_VERSION,
        workspacePath: paths.dir,
        workspaceName: basename(paths.dir),
        trusted: true,
        host: options.host,
        capabilities: ['store']
      }),
      ping: () => ({ pong: true as const, serverTime: Date.now() }),
      echo: ({ text, repeat }) => {
        const out = text.repeat(repeat ?? 1)
        events.emit('workbench', 'echoed', { text: out, at: Date.now() })
        return { text: out }
      }
    },
    store: {
      append: ({ streamId, events: newEvents, expectedVersion }) => store.appendToStream(streamId, newEvents, { expectedVersion }),
      readStream: ({ streamId, from, direction, limit }) => store.readStream(streamId, { from, direction, limit }),
      readAll: ({ filter, from, direction, limit }) => store.readAll({ filter, from, direction, limit }),
      readEvent: async (by) => {
        const event = await store.readEvent(by)
        if (!event) throw notFound('position' in by ? `No event at position ${by.position}` : `No event with id ${by.id}`)
        return event
      },
      listStreams: (input) => store.listStreams(input),
      streamInfo: async ({ streamId }) => {
        const info = await store.streamInfo(streamId)
        if (!info) throw notFound(`Stream ${streamId} does not exist`)
        return info
      },
      setStreamMetadata: ({ streamId, metadata }) => store.setStreamMetadata(streamId, metadata),
      deleteStream: ({ streamId, expectedVersion, mode }) => store.deleteStream(streamId, { expectedVersion, mode }),
      stats: () => store.stats()
    },
    jobs: {
      startExport: ({ filter }) => {
        const stamp = new Date().toISOString().replace(/[:.]/g, '-')
        const outFile = join(paths.exports, `events-${stamp}.ndjson`)
        const task: JobTask = { kind: 'export', dbFile: paths.database, outFile, filter }
        return jobs.start(task, `Export to ${basename(outFile)}`)
      },
      beginUpload: ({ fileName, bytes }) => {
        const uploadId = randomUUID()
        const file = join(paths.uploads, `${uploadId}.ndjson`)
        appendFileSync(file, '')
        uploads.set(uploadId, { file, received: 0, expected: bytes })
        void fileName
        return { uploadId }
      },
      uploadChunk: ({ uploadId, text }) => {
        const upload = uploads.get(uploadId)
        if (!upload) throw notFound(`No upload ${uploadId}`)
        appendFileSync(upload.file, text)
        upload.received += Buffer.byteLength(text)
        return { received: upload.received }
      },
      startImport: ({ uploadId }) => {
        const upload = uploads.get(uploadId)
        if (!upload || !existsSync(upload.file)) throw notFound(`No upload ${uploadId}`)
        uploads.delete(uploadId)
        return jobs.start({ kind: 'import', dbFile: paths.database, inFile: upload.file }, `Import (${statSync(upload.file).size} bytes)`)
      },
      startScavenge: () => jobs.start({ kind: 'scavenge', dbFile: paths.database }, 'Scavenge'),
      cancel: ({ jobId }) => jobs.cancel(jobId),
      list: () => jobs.list()
    }
  }

  return {
    contract,
    implementation,
    events,
    store,
    jobs,
    workspaceDir: paths.dir,
    exportsDir: paths.exports,
    close: async () => {
      stopAppended()
      await jobs.idle()
      await store.close()
    }
  }
}
