import type { MenuItemConstructorOptions } from 'electron'

export interface MenuActions {
  newWorkspace(): void
  openWorkspace(): void
  openRecent(path: string): void
  importEvents(): void
  exportEvents(): void
  closeWorkspace(): void
  openPanel(panel: string): void
  reload(): void
  toggleDevTools(): void
  showAbout(): void
  openDocumentation(): void
}

export interface MenuOptions {
  platform: NodeJS.Platform
  /** Development builds get Reload and the developer tools; packaged ones do not. */
  development: boolean
  /** Recently opened workspaces, newest first. */
  recent: ReadonlyArray<{ path: string; name: string }>
  /** The open workspace's name, for Close Workspace. */
  workspaceName?: string
  actions: MenuActions
}

/** The panels of the window, in sidebar order (kept equal to renderer/src/panels.ts by a test). */
export const panelShortcuts: ReadonlyArray<{ panel: string; label: string }> = [
  { panel: 'streams', label: 'Streams' },
  { panel: 'commands', label: 'Commands' },
  { panel: 'domain', label: 'Domain code' },
  { panel: 'replay', label: 'Replay' },
  { panel: 'projections', label: 'Projections' },
  { panel: 'read-models', label: 'Read models' },
  { panel: 'upcasters', label: 'Upcasters' },
  { panel: 'sagas', label: 'Sagas' },
  { panel: 'workspace', label: 'Workspace' }
]

export const APP_MENU_LABEL = 'Event Workbench'
const RECENT_LIMIT = 10

/** The application menu as a plain template, so it can be tested without Electron. Items that tests click have ids. */
export function menuTemplate(options: MenuOptions): MenuItemConstructorOptions[] {
  const { actions } = options
  const isMac = options.platform === 'darwin'
  const about: MenuItemConstructorOptions = { id: 'help.about', label: `About ${APP_MENU_LABEL}`, click: () => actions.showAbout() }

  const recent: MenuItemConstructorOptions[] = options.recent.length
    ? options.recent.slice(0, RECENT_LIMIT).map((r, i) => ({
        id: `file.recent.${i}`,
        label: `${r.name} — ${r.path}`,
        click: () => actions.openRecent(r.path)
      }))
    : [{ label: 'No recent workspaces', enabled: false }]

  const file: MenuItemConstructorOptions[] = [
    { id: 'file.new', label: 'New Workspace…', accelerator: 'CmdOrCtrl+Shift+N', click: () => actions.newWorkspace() },
    { id: 'file.open', label: 'Open Workspace…', accelerator: 'CmdOrCtrl+O', click: () => actions.openWorkspace() },
    { id: 'file.recent', label: 'Open Recent', submenu: recent },
    { type: 'separator' },
    { id: 'file.import', label: 'Import Events…', accelerator: 'CmdOrCtrl+I', click: () => actions.importEvents() },
    { id: 'file.export', label: 'Export Events…', accelerator: 'CmdOrCtrl+E', click: () => actions.exportEvents() },
    { type: 'separator' },
    {
      id: 'file.close-workspace',
      label: options.workspaceName ? `Close Workspace (${options.workspaceName})` : 'Close Workspace',
      click: () => actions.closeWorkspace()
    },
    { type: 'separator' },
    // macOS closes the window and keeps the app; elsewhere the window is the app.
    isMac ? { role: 'close' } : options.platform === 'win32' ? { role: 'quit', label: 'Exit' } : { role: 'quit', accelerator: 'Ctrl+Q' }
  ]

  const edit: MenuItemConstructorOptions[] = [
    { role: 'undo' },
    { role: 'redo' },
    { type: 'separator' },
    { role: 'cut' },
    { role: 'copy' },
    { role: 'paste' },
    ...(isMac ? [{ role: 'pasteAndMatchStyle' } as MenuItemConstructorOptions] : []),
    { role: 'delete' },
    { role: 'selectAll' }
  ]

  const view: MenuItemConstructorOptions[] = [
    ...panelShortcuts.map(
      (p, i): MenuItemConstructorOptions => ({
        id: `view.panel.${p.panel}`,
        label: p.label,
        accelerator: `CmdOrCtrl+${i + 1}`,
        click: () => actions.openPanel(p.panel)
      })
    ),
    { type: 'separator' },
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    { type: 'separator' },
    { role: 'togglefullscreen' }
  ]
  if (options.development) {
    view.push(
      { type: 'separator' },
      { id: 'view.reload', label: 'Reload', accelerator: 'CmdOrCtrl+R', click: () => actions.reload() },
      { id: 'view.devtools', label: 'Toggle Developer Tools', accelerator: isMac ? 'Alt+Cmd+I' : 'Ctrl+Shift+I', click: () => actions.toggleDevTools() }
    )
  }

  const help: MenuItemConstructorOptions[] = [
    { id: 'help.docs', label: 'Documentation', click: () => actions.openDocumentation() },
    ...(isMac ? [] : [{ type: 'separator' } as MenuItemConstructorOptions, about])
  ]

  const template: MenuItemConstructorOptions[] = []
  if (isMac) {
    template.push({
      label: APP_MENU_LABEL,
      submenu: [
        about,
        { type: 'separator' },
        { role: 'services' },
        { type: 'separator' },
        { role: 'hide' },
        { role: 'hideOthers' },
        { role: 'unhide' },
        { type: 'separator' },
        { role: 'quit' }
      ]
    })
  }
  template.push({ label: 'File', submenu: file }, { label: 'Edit', submenu: edit }, { label: 'View', submenu: view })
  if (isMac) template.push({ role: 'windowMenu' })
  template.push(isMac ? { label: 'Help', role: 'help', submenu: help } : { label: 'Help', submenu: help })
  return template
}
