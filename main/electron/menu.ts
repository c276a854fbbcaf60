import type { MenuItemConstructorOptions } from 'electron'

export interface MenuActions {
  openPanel(panel: string): void
  reload(): void
  toggleDevTools(): void
  showAbout(): void
  openDocumentation(): void
}

export const panelShortcuts: Array<{ panel: string; label: string }> = [
  { panel: 'streams', label: 'Streams' },
  { panel: 'commands', label: 'Commands' },
  { panel: 'replay', label: 'Replay' },
  { panel: 'projections', label: 'Projections' },
  { panel: 'read-models', label: 'Read models' },
  { panel: 'upcasters', label: 'Upcasters' },
  { panel: 'sagas', label: 'Sagas' },
  { panel: 'workspace', label: 'Workspace' }
]

/** The application menu as a plain template, so it can be tested without Electron. */
export function menuTemplate(options: { platform: NodeJS.Platform; development: boolean; actions: MenuActions }): MenuItemConstructorOptions[] {
  const { actions } = options
  const isMac = options.platform === 'darwin'
  const view: MenuItemConstructorOptions[] = [
    ...panelShortcuts.map(
      (p, i): MenuItemConstructorOptions => ({ label: p.label, accelerator: `CmdOrCtrl+${i + 1}`, click: () => actions.openPanel(p.panel) })
    ),
    { type: 'separator' },
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    { type: 'separator' },
    { role: 'togglefullscreen' }
  ]
  if (options.development) {
    view.push({ type: 'separator' }, { label: 'Reload', accelerator: 'CmdOrCtrl+R', click: actions.reload })
    view.push({ label: 'Toggle Developer Tools', accelerator: isMac ? 'Alt+Cmd+I' : 'Ctrl+Shift+I', click: actions.toggleDevTools })
  }
  const template: MenuItemConstructorOptions[] = []
  if (isMac) {
    template.push({
      label: 'Event Workbench',
      submenu: [
        { label: 'About Event Workbench', click: actions.showAbout },
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
  template.push(
    { label: 'File', submenu: [{ label: 'Workspace', click: () => actions.openPanel('workspace') }, { type: 'separator' }, isMac ? { role: 'close' } : { role: 'quit' }] },
    { label: 'Edit', submenu: [{ role: 'undo' }, { role: 'redo' }, { type: 'separator' }, { role: 'cut' }, { role: 'copy' }, { role: 'paste' }, { role: 'selectAll' }] },
    { label: 'View', submenu: view },
    {
      label: 'Help',
      submenu: [
        { label: 'Documentation', click: actions.openDocumentation },
        ...(isMac ? [] : [{ label: 'About Event Workbench', click: actions.showAbout } as MenuItemConstructorOptions])
      ]
    }
  )
  return template
}
