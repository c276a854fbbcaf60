import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { exportResult, importResult, type JobInfo } from '../../shared/contract/jobs'
import type { Workbench } from '../services'
import { defaultWorkspaceDir } from '../workspace/location'
import type { OpenRequest } from './open-request'

/** The native dialogs the desktop actions need; Electron's `dialog` in the app, stubs in tests. */
export interface DesktopDialogs {
  /** A new folder to make a workspace in (a save dialog: it usually does not exist yet). */
  chooseNewWorkspaceFolder(): Promise<string | null>
  chooseWorkspaceFolder(): Promise<string | null>
  chooseEventLog(): Promise<string | null>
  chooseExportFile(defaultName: string): Promise<string | null>
  /** Asks a question; resolves to the index of the button chosen (`cancelId` when dismissed). */
  ask(question: { message: string; detail: string; buttons: string[]; cancelId: number; type?: 'question' | 'warning' }): Promise<number>
  /** Tells the outcome of something; resolves to the index of the button chosen. */
  tell(notice: { message: string; detail: string; type: 'info' | 'error'; buttons?: string[] }): Promise<number>
}

/** What the actions do to the window and the system around it. */
export interface DesktopSurroundings {
  showPanel(panel: string): void
  revealFile(path: string): void
}

/** Why a job did not succeed, for a dialog. */
const failureOf = (job: JobInfo) => (job.state === 'cancelled' ? 'It was cancelled; nothing was changed.' : job.error?.message ?? 'It failed.')

/** Resolves with the job's final state, however it ends. */
export function jobFinished(workbench: Workbench, jobId: string): Promise<JobInfo> {
  return new Promise((resolve) => {
    const stop = workbench.events.on('jobs', 'updated', (job) => {
      if (job.id !== jobId || job.state === 'running') return
      stop()
      resolve(job as JobInfo)
    })
    const known = workbench.jobs.get(jobId)
    if (known && known.state !== 'running') {
      stop()
      resolve(known)
    }
  })
}

/**
 * Exports every event to a file the person chose. The job writes beside it (`.part`) and the file is put in place
 * only when the export succeeded, so a failed or cancelled export leaves nothing half-written under that name.
 */
export function exportEventsTo(workbench: Workbench, file: string): { job: JobInfo; finished: Promise<JobInfo> } {
  const part = `${file}.part`
  const ws = workbench.workspace()
  const job = workbench.jobs.start({ kind: 'export', dbFile: ws.paths.database, outFile: part, filter: {} }, `Export to ${basename(file)}`)
  const finished = jobFinished(workbench, job.id).then((end) => {
    if (end.state === 'succeeded') renameSync(part, file)
    else rmSync(part, { force: true })
    return end
  })
  return { job, finished }
}

/** Imports an NDJSON event log from where it lies (nothing is copied): all or nothing, as one job. */
export function importEventsFrom(workbench: Workbench, file: string): { job: JobInfo; finished: Promise<JobInfo> } {
  const ws = workbench.workspace()
  // A PostgreSQL workspace: the job writes to the server (its working copy takes the events from there).
  const postgres = ws.postgresConnection()
  const job = workbench.jobs.start({ kind: 'import', dbFile: ws.paths.database, inFile: file, ...(postgres ? { postgres } : {}) }, `Import of ${basename(file)} (${statSync(file).size} bytes)`)
  return { job, finished: jobFinished(workbench, job.id) }
}

const isWorkspaceFolder = (dir: string) => existsSync(join(dir, 'workbench.json'))
const isEmptyFolder = (dir: string) => readdirSync(dir).length === 0

/** The File menu's work, opening paths from the command line, a second launch or a drop, over the open workbench. */
export class DesktopActions {
  constructor(
    private readonly workbench: Workbench,
    private readonly dialogs: DesktopDialogs,
    private readonly around: DesktopSurroundings
  ) {}

  private get api() {
    return this.workbench.implementation.workspace
  }

  private async failed(message: string, error: unknown): Promise<void> {
    await this.dialogs.tell({ type: 'error', message, detail: error instanceof Error ? error.message : String(error) })
  }

  async newWorkspace(): Promise<void> {
    const dir = await this.dialogs.chooseNewWorkspaceFolder()
    if (!dir) return
    if (existsSync(dir) && !statSync(dir).isDirectory()) {
      await this.dialogs.tell({ type: 'error', message: 'A workspace is a folder', detail: `${dir} is a file. Choose a new name for the workspace folder.` })
      return
    }
    if (existsSync(dir) && !isEmptyFolder(dir) && !isWorkspaceFolder(dir)) {
      await this.dialogs.tell({ type: 'error', message: 'That folder is not empty', detail: `${dir} already holds files. Choose a new name, or open it with Open Workspace….` })
      return
    }
    try {
      // A folder made here (or an empty one chosen for it) is this person's own workspace: trusted.
      await this.api.open({ path: dir, create: true }, { connectionId: 'desktop' })
      this.around.showPanel('workspace')
    } catch (error) {
      await this.failed(`Could not create a workspace in ${dir}`, error)
    }
  }

  async openWorkspace(): Promise<void> {
    const dir = await this.dialogs.chooseWorkspaceFolder()
    if (dir) await this.openWorkspaceDir(dir)
  }

  /** Opens a folder; one that is not a workspace yet is made one only when the person says so. */
  async openWorkspaceDir(dir: string): Promise<boolean> {
    if (this.workbench.workspace().dir === dir) {
      this.around.showPanel('workspace')
      return true
    }
    if (!existsSync(dir)) {
      await this.dialogs.tell({ type: 'error', message: 'The workspace is gone', detail: `${dir} no longer exists.` })
      return false
    }
    if (!isWorkspaceFolder(dir) && !isEmptyFolder(dir)) {
      const answer = await this.dialogs.ask({
        type: 'question',
        message: `${basename(dir)} is not a workspace yet`,
        detail: `${dir} has no workbench.json. Make it a workspace? The workbench adds workbench.json, an event log (events.db) and folders for exports; your files stay as they are. Its code will not run until you trust it.`,
        buttons: ['Cancel', 'Make It a Workspace'],
        cancelId: 0
      })
      if (answer !== 1) return false
    }
    try {
      await this.api.open({ path: dir, create: false }, { connectionId: 'desktop' })
      this.around.showPanel('workspace')
      return true
    } catch (error) {
      await this.failed(`Could not open ${dir}`, error)
      return false
    }
  }

  async importEvents(): Promise<void> {
    const file = await this.dialogs.chooseEventLog()
    if (file) await this.importFile(file)
  }

  /** Asks, then imports an event log into the open workspace and tells how it went. */
  async importFile(file: string): Promise<JobInfo | null> {
    const ws = this.workbench.workspace()
    const empty = ws.store.head() === 0
    const answer = await this.dialogs.ask({
      type: 'question',
      message: `Import ${basename(file)} into ${ws.config.name}?`,
      detail: empty
        ? `The workspace's log is empty: the events are restored exactly as they were exported (positions, ids, versions).\n\n${ws.dir}`
        : `The events are appended after what each stream holds; nothing already in the log changes. The import is all or nothing.\n\n${ws.dir}`,
      buttons: ['Cancel', 'Import'],
      cancelId: 0
    })
    if (answer !== 1) return null
    let started: ReturnType<typeof importEventsFrom>
    try {
      started = importEventsFrom(this.workbench, file)
    } catch (error) {
      await this.failed(`Could not import ${basename(file)}`, error)
      return null
    }
    this.around.showPanel('workspace')
    const end = await started.finished
    const result = importResult.safeParse(end.result)
    if (end.state === 'succeeded' && result.success) {
      const { events, streams, mode } = result.data
      await this.dialogs.tell({
        type: 'info',
        message: `Imported ${events.toLocaleString('en')} events in ${streams.toLocaleString('en')} streams`,
        detail: `${mode === 'restore' ? 'Restored into the empty log' : 'Appended to the log'} of ${ws.config.name} from ${file}.`
      })
    } else {
      await this.dialogs.tell({ type: 'error', message: `Nothing was imported from ${basename(file)}`, detail: failureOf(end) })
    }
    return end
  }

  async exportEvents(): Promise<JobInfo | null> {
    const ws = this.workbench.workspace()
    const stamp = new Date().toISOString().slice(0, 10)
    const file = await this.dialogs.chooseExportFile(`${basename(ws.dir)}-events-${stamp}.ndjson`)
    if (!file) return null
    let started: ReturnType<typeof exportEventsTo>
    try {
      started = exportEventsTo(this.workbench, file)
    } catch (error) {
      await this.failed(`Could not export to ${file}`, error)
      return null
    }
    this.around.showPanel('workspace')
    const end = await started.finished
    const result = exportResult.safeParse(end.result)
    if (end.state === 'succeeded' && result.success) {
      const shown = await this.dialogs.tell({
        type: 'info',
        message: `Exported ${result.data.events.toLocaleString('en')} events`,
        detail: `${file}\n${result.data.bytes.toLocaleString('en')} bytes of NDJSON, one event per line.`,
        buttons: ['OK', 'Show in Folder']
      })
      if (shown === 1) this.around.revealFile(file)
    } else {
      await this.dialogs.tell({ type: 'error', message: `The export to ${basename(file)} did not finish`, detail: failureOf(end) })
    }
    return end
  }

  /** Closing a workspace goes back to the demo shop, which is always there to come back to. */
  async closeWorkspace(): Promise<void> {
    const demo = defaultWorkspaceDir()
    if (this.workbench.workspace().dir === demo) {
      this.around.showPanel('workspace')
      return
    }
    try {
      if (existsSync(join(demo, 'workbench.json'))) await this.api.open({ path: demo, create: false }, { connectionId: 'desktop' })
      else await this.api.resetDemo(undefined, { connectionId: 'desktop' })
      this.around.showPanel('workspace')
    } catch (error) {
      await this.failed('Could not close the workspace', error)
    }
  }

  /** Does what paths given to the app ask: opens the workspace, then offers each event log for import. */
  async handle(requests: readonly OpenRequest[]): Promise<void> {
    for (const request of requests) {
      if (request.kind === 'workspace') {
        if (!(await this.openWorkspaceDir(request.dir))) return
      } else if (request.kind === 'events') {
        await this.importFile(request.file)
      } else {
        await this.dialogs.tell({ type: 'error', message: 'The workbench cannot open that', detail: request.reason })
      }
    }
  }
}
