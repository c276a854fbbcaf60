import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { openWorkbench, type Workbench } from '../services'
import { defaultWorkspaceDir } from '../workspace/location'
import { TrustRegistry } from '../workspace/trust'
import { DesktopActions, type DesktopDialogs } from './desktop-actions'
import { openRequests } from './open-request'

const ctx = { connectionId: 'test' }
let home: string
let workbench: Workbench
let shown: string[]

/** Dialogs that answer what the test says, and remember what they were asked. */
function dialogs(answers: Partial<{ newFolder: string; folder: string; log: string; exportTo: string; ask: number; tell: number }> = {}) {
  const asked: Array<{ message: string; detail: string }> = []
  const told: Array<{ type: string; message: string; detail: string }> = []
  const d: DesktopDialogs = {
    chooseNewWorkspaceFolder: async () => answers.newFolder ?? null,
    chooseWorkspaceFolder: async () => answers.folder ?? null,
    chooseEventLog: async () => answers.log ?? null,
    chooseExportFile: async () => answers.exportTo ?? null,
    ask: async (q) => {
      asked.push(q)
      return answers.ask ?? q.cancelId
    },
    tell: async (n) => {
      told.push(n)
      return answers.tell ?? 0
    }
  }
  return { d, asked, told }
}

function actions(answers: Parameters<typeof dialogs>[0] = {}) {
  const { d, asked, told } = dialogs(answers)
  const revealed: string[] = []
  const a = new DesktopActions(workbench, d, { showPanel: (p) => shown.push(p), revealFile: (p) => revealed.push(p) })
  return { a, asked, told, revealed }
}

async function appendOrders(count: number) {
  for (let i = 0; i < count; i++) {
    await workbench.implementation.store.append(
      { streamId: `order-${i % 3}`, events: [{ type: 'OrderPlaced', data: { n: i }, metadata: {} }], expectedVersion: 'any' } as never,
      ctx
    )
  }
}

const headOf = () => workbench.workspace().store.head()

beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), 'esw-desktop-'))
  shown = []
  workbench = await openWorkbench({ host: 'test', workspaceDir: join(home, 'shop'), trust: new TrustRegistry(join(home, 'home')), seedDemo: false })
})

afterEach(async () => {
  await workbench.close()
  rmSync(home, { recursive: true, force: true })
})

describe('File › Export Events…', () => {
  it('writes every event to the file chosen in the save dialog and offers to show it', async () => {
    await appendOrders(5)
    const file = join(home, 'out', 'shop.ndjson')
    mkdirSync(join(home, 'out'))
    const { a, told, revealed } = actions({ exportTo: file, tell: 1 })
    const job = await a.exportEvents()
    expect(job?.state).toBe('succeeded')
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    expect(lines).toHaveLength(5)
    expect(JSON.parse(lines[0])).toMatchObject({ streamId: 'order-0', type: 'OrderPlaced' })
    expect(readdirSync(join(home, 'out'))).toEqual(['shop.ndjson'])
    expect(told[0]).toMatchObject({ type: 'info', message: 'Exported 5 events' })
    expect(revealed).toEqual([file])
    expect(shown).toContain('workspace')
  })

  it('does nothing when the dialog is cancelled', async () => {
    const { a, told } = actions()
    expect(await a.exportEvents()).toBeNull()
    expect(told).toEqual([])
    expect(workbench.jobs.list()).toEqual([])
  })

  it('leaves no half-written file when the export fails', async () => {
    const file = join(home, 'missing-folder', 'x.ndjson')
    const { a, told } = actions({ exportTo: file })
    const job = await a.exportEvents()
    expect(job?.state).toBe('failed')
    expect(existsSync(file)).toBe(false)
    expect(existsSync(`${file}.part`)).toBe(false)
    expect(told[0]).toMatchObject({ type: 'error', message: 'The export to x.ndjson did not finish' })
  })
})

describe('File › Import Events… and opening an event log', () => {
  async function exported(count: number): Promise<string> {
    await appendOrders(count)
    const file = join(home, 'log.ndjson')
    await actions({ exportTo: file }).a.exportEvents()
    return file
  }

  it('asks first, then restores the log into an empty workspace and tells how it went', async () => {
    const file = await exported(4)
    const { a } = actions({ newFolder: join(home, 'copy') })
    await a.newWorkspace()
    expect(workbench.workspace().dir).toBe(join(home, 'copy'))
    expect(workbench.workspace().trusted).toBe(true)
    const { a: b, asked, told } = actions({ ask: 1 })
    const job = await b.importFile(file)
    expect(asked[0].message).toBe('Import log.ndjson into copy?')
    expect(asked[0].detail).toContain('restored exactly')
    expect(job?.state).toBe('succeeded')
    expect(headOf()).toBe(4)
    expect(told.at(-1)).toMatchObject({ type: 'info', message: 'Imported 4 events in 3 streams' })
    expect(existsSync(file)).toBe(true)
  })

  it('imports nothing when the question is declined', async () => {
    const file = await exported(2)
    const { a, told } = actions({ ask: 0 })
    expect(await a.importFile(file)).toBeNull()
    expect(headOf()).toBe(2)
    expect(told).toEqual([])
  })

  it('reports a broken log at its line and leaves the log as it was', async () => {
    await appendOrders(1)
    const file = join(home, 'broken.ndjson')
    writeFileSync(file, '{"not": "an event"}\n')
    const { a, told } = actions({ ask: 1 })
    const job = await a.importFile(file)
    expect(job?.state).toBe('failed')
    expect(headOf()).toBe(1)
    expect(told.at(-1)).toMatchObject({ type: 'error', message: 'Nothing was imported from broken.ndjson', detail: expect.stringContaining('Line 1') })
  })
})

describe('opening workspaces', () => {
  it('opens a workspace folder chosen in the dialog', async () => {
    const other = join(home, 'other')
    await actions({ newFolder: other }).a.newWorkspace()
    await actions({ newFolder: join(home, 'third') }).a.newWorkspace()
    await actions({ folder: other }).a.openWorkspace()
    expect(workbench.workspace().dir).toBe(other)
  })

  it('makes a folder with other files a workspace only when the person agrees', async () => {
    const notes = join(home, 'notes')
    mkdirSync(notes)
    writeFileSync(join(notes, 'readme.txt'), 'hello')
    const declined = actions({ ask: 0 })
    expect(await declined.a.openWorkspaceDir(notes)).toBe(false)
    expect(declined.asked[0].message).toBe('notes is not a workspace yet')
    expect(existsSync(join(notes, 'workbench.json'))).toBe(false)
    expect(await actions({ ask: 1 }).a.openWorkspaceDir(notes)).toBe(true)
    expect(workbench.workspace().dir).toBe(notes)
    // Made from a folder that came from elsewhere: its code waits for trust.
    expect(workbench.workspace().trusted).toBe(false)
  })

  it('refuses to make a new workspace in a folder that holds other files', async () => {
    const full = join(home, 'full')
    mkdirSync(full)
    writeFileSync(join(full, 'x.txt'), '')
    const { a, told } = actions({ newFolder: full })
    await a.newWorkspace()
    expect(told[0].message).toBe('That folder is not empty')
    expect(workbench.workspace().dir).toBe(join(home, 'shop'))
  })

  it('closes a workspace back to the demo shop', async () => {
    await actions().a.closeWorkspace()
    expect(workbench.workspace().dir).toBe(defaultWorkspaceDir())
    expect(workbench.workspace().config.demo).toBe(true)
  })

  it('handles what a launch was given: the workspace first, then the event log, and says what it cannot open', async () => {
    await appendOrders(3)
    const log = join(home, 'log.ndjson')
    await actions({ exportTo: log }).a.exportEvents()
    const target = join(home, 'target')
    await actions({ newFolder: target }).a.newWorkspace()
    await actions({ newFolder: join(home, 'elsewhere') }).a.newWorkspace()
    writeFileSync(join(home, 'notes.txt'), '')
    const { a, told } = actions({ ask: 1 })
    const spy = vi.spyOn(a, 'importFile')
    await a.handle(openRequests([log, target, join(home, 'notes.txt')]))
    expect(workbench.workspace().dir).toBe(target)
    expect(spy).toHaveBeenCalledWith(log)
    expect(headOf()).toBe(3)
    expect(told.at(-1)).toMatchObject({ type: 'error', message: 'The workbench cannot open that', detail: expect.stringContaining('notes.txt') })
  })
})
