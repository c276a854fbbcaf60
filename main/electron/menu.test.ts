import type { MenuItemConstructorOptions } from 'electron'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { menuTemplate, panelShortcuts, type MenuActions, type MenuOptions } from './menu'

const actions = (): MenuActions => ({
  newWorkspace: vi.fn(),
  openWorkspace: vi.fn(),
  openRecent: vi.fn(),
  importEvents: vi.fn(),
  exportEvents: vi.fn(),
  closeWorkspace: vi.fn(),
  openPanel: vi.fn(),
  reload: vi.fn(),
  toggleDevTools: vi.fn(),
  showAbout: vi.fn(),
  openDocumentation: vi.fn()
})
/** The renderer's panels, read from its source (the node project does not compile renderer code). */
const rendererPanels = [...readFileSync(join(__dirname, '..', '..', 'renderer', 'src', 'panels.ts'), 'utf8').matchAll(/\{ id: '([^']+)', label: '([^']+)'/g)].map((m) => [m[1], m[2]])
const template = (options: Partial<MenuOptions> = {}) =>
  menuTemplate({ platform: 'linux', development: false, recent: [], actions: actions(), ...options })
const labels = (items: MenuItemConstructorOptions[]) => items.map((i) => i.label ?? i.role)
const submenu = (items: MenuItemConstructorOptions[], label: string) => items.find((i) => i.label === label)?.submenu as MenuItemConstructorOptions[]
const byId = (items: MenuItemConstructorOptions[], id: string): MenuItemConstructorOptions | undefined => {
  for (const item of items) {
    if (item.id === id) return item
    const found = Array.isArray(item.submenu) ? byId(item.submenu, id) : undefined
    if (found) return found
  }
  return undefined
}
const click = (item: MenuItemConstructorOptions | undefined) => (item!.click as () => void)()
const allItems = (items: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] =>
  items.flatMap((i) => [i, ...(Array.isArray(i.submenu) ? allItems(i.submenu) : [])])

describe('application menu', () => {
  it('has File, Edit, View and Help on Windows and Linux', () => {
    expect(labels(template({ platform: 'linux' }))).toEqual(['File', 'Edit', 'View', 'Help'])
    expect(labels(template({ platform: 'win32' }))).toEqual(['File', 'Edit', 'View', 'Help'])
  })

  it('follows the macOS conventions: the app menu first with About and Quit, a Window menu, Close in File', () => {
    const mac = template({ platform: 'darwin' })
    expect(labels(mac)).toEqual(['Event Workbench', 'File', 'Edit', 'View', 'windowMenu', 'Help'])
    const appMenu = mac[0].submenu as MenuItemConstructorOptions[]
    expect(appMenu[0].label).toBe('About Event Workbench')
    expect(appMenu.map((i) => i.role).filter(Boolean)).toEqual(['services', 'hide', 'hideOthers', 'unhide', 'quit'])
    const file = submenu(mac, 'File')
    expect(file.at(-1)!.role).toBe('close')
    expect(file.some((i) => i.role === 'quit')).toBe(false)
    expect(submenu(mac, 'Help').some((i) => i.label?.startsWith('About'))).toBe(false)
    expect(mac.find((i) => i.label === 'Help')!.role).toBe('help')
  })

  it('quits from File elsewhere: Exit on Windows, Quit with Ctrl+Q on Linux, About under Help', () => {
    expect(submenu(template({ platform: 'win32' }), 'File').at(-1)).toMatchObject({ role: 'quit', label: 'Exit' })
    expect(submenu(template({ platform: 'linux' }), 'File').at(-1)).toMatchObject({ role: 'quit', accelerator: 'Ctrl+Q' })
    expect(submenu(template(), 'Help').some((i) => i.id === 'help.about')).toBe(true)
  })

  it('offers the workspace and event file commands in File, with shortcuts', () => {
    const a = actions()
    const t = template({ actions: a })
    expect(labels(submenu(t, 'File')).filter(Boolean)).toEqual([
      'New Workspace…',
      'Open Workspace…',
      'Open Recent',
      'Import Events…',
      'Export Events…',
      'Close Workspace',
      'quit'
    ])
    expect(byId(t, 'file.new')!.accelerator).toBe('CmdOrCtrl+Shift+N')
    expect(byId(t, 'file.open')!.accelerator).toBe('CmdOrCtrl+O')
    expect(byId(t, 'file.import')!.accelerator).toBe('CmdOrCtrl+I')
    expect(byId(t, 'file.export')!.accelerator).toBe('CmdOrCtrl+E')
    for (const [id, action] of [
      ['file.new', a.newWorkspace],
      ['file.open', a.openWorkspace],
      ['file.import', a.importEvents],
      ['file.export', a.exportEvents],
      ['file.close-workspace', a.closeWorkspace]
    ] as const) {
      click(byId(t, id))
      expect(action).toHaveBeenCalledOnce()
    }
  })

  it('lists recent workspaces, newest first, and opens the one chosen', () => {
    const a = actions()
    const t = template({ actions: a, recent: [{ path: '/w/shop', name: 'Shop' }, { path: '/w/bank', name: 'Bank' }] })
    const recent = byId(t, 'file.recent')!.submenu as MenuItemConstructorOptions[]
    expect(recent.map((r) => r.label)).toEqual(['Shop — /w/shop', 'Bank — /w/bank'])
    click(recent[1])
    expect(a.openRecent).toHaveBeenCalledWith('/w/bank')
    const none = byId(template(), 'file.recent')!.submenu as MenuItemConstructorOptions[]
    expect(none).toEqual([{ label: 'No recent workspaces', enabled: false }])
  })

  it('names the open workspace in Close Workspace', () => {
    expect(byId(template({ workspaceName: 'Demo shop' }), 'file.close-workspace')!.label).toBe('Close Workspace (Demo shop)')
  })

  it('opens every panel of the window from the View menu, each with its own shortcut', () => {
    expect(rendererPanels.length).toBeGreaterThan(5)
    expect(panelShortcuts.map((p) => [p.panel, p.label])).toEqual(rendererPanels)
    const a = actions()
    const view = submenu(template({ actions: a }), 'View')
    const streams = view.find((i) => i.label === 'Streams')!
    expect(streams.accelerator).toBe('CmdOrCtrl+1')
    click(streams)
    expect(a.openPanel).toHaveBeenCalledWith('streams')
    expect(view.map((i) => i.role).filter(Boolean)).toEqual(['resetZoom', 'zoomIn', 'zoomOut', 'togglefullscreen'])
  })

  it('offers Reload and the developer tools only in development builds', () => {
    const has = (development: boolean, id: string) => byId(template({ development }), id) !== undefined
    expect(has(false, 'view.devtools')).toBe(false)
    expect(has(false, 'view.reload')).toBe(false)
    expect(has(true, 'view.devtools')).toBe(true)
    expect(has(true, 'view.reload')).toBe(true)
  })

  it('never gives two items the same shortcut', () => {
    for (const platform of ['darwin', 'win32', 'linux'] as const) {
      const accelerators = allItems(template({ platform, development: true, recent: [{ path: '/a', name: 'A' }] }))
        .map((i) => i.accelerator)
        .filter((a): a is string => typeof a === 'string')
      expect(new Set(accelerators).size, platform).toBe(accelerators.length)
    }
  })
})
