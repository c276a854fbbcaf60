import type { MenuItemConstructorOptions } from 'electron'
import { describe, expect, it, vi } from 'vitest'
import { menuTemplate } from './menu'

const actions = () => ({
  openPanel: vi.fn(),
  reload: vi.fn(),
  toggleDevTools: vi.fn(),
  showAbout: vi.fn(),
  openDocumentation: vi.fn()
})
const labels = (items: MenuItemConstructorOptions[]) => items.map((i) => i.label ?? i.role)
const submenu = (items: MenuItemConstructorOptions[], label: string) =>
  items.find((i) => i.label === label)?.submenu as MenuItemConstructorOptions[]

describe('application menu', () => {
  it('has File, Edit, View and Help on Windows and Linux', () => {
    expect(labels(menuTemplate({ platform: 'linux', development: false, actions: actions() }))).toEqual(['File', 'Edit', 'View', 'Help'])
  })

  it('puts the app menu first on macOS', () => {
    expect(labels(menuTemplate({ platform: 'darwin', development: false, actions: actions() }))[0]).toBe('Event Workbench')
  })

  it('opens each panel from the View menu with a shortcut', () => {
    const a = actions()
    const view = submenu(menuTemplate({ platform: 'linux', development: false, actions: a }), 'View')
    const streams = view.find((i) => i.label === 'Streams')!
    expect(streams.accelerator).toBe('CmdOrCtrl+1')
    ;(streams.click as () => void)()
    expect(a.openPanel).toHaveBeenCalledWith('streams')
  })

  it('offers developer tools only in development builds', () => {
    const has = (development: boolean) =>
      submenu(menuTemplate({ platform: 'linux', development, actions: actions() }), 'View').some((i) => i.label === 'Toggle Developer Tools')
    expect(has(false)).toBe(false)
    expect(has(true)).toBe(true)
  })
})
