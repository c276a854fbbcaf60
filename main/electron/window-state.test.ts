import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEFAULT_SIZE, MIN_SIZE, emptyDesktopState, fitToScreens, loadDesktopState, saveDesktopState } from './window-state'

const laptop = { x: 0, y: 25, width: 1440, height: 875 }
const monitorOnTheRight = { x: 1440, y: 0, width: 2560, height: 1440 }

describe('remembered window state', () => {
  const dir = mkdtempSync(join(tmpdir(), 'esw-window-'))

  it('round-trips bounds, maximized and full screen, and the last workspace', () => {
    const file = join(dir, 'desktop.json')
    const state = { window: { bounds: { x: 10, y: 20, width: 1000, height: 700 }, maximized: true, fullScreen: false }, lastWorkspace: '/w/shop' }
    saveDesktopState(file, state)
    expect(loadDesktopState(file)).toEqual(state)
  })

  it('starts from the defaults when the file is missing, unreadable or malformed', () => {
    expect(loadDesktopState(join(dir, 'none.json'))).toEqual(emptyDesktopState())
    writeFileSync(join(dir, 'broken.json'), '{"window": ')
    expect(loadDesktopState(join(dir, 'broken.json'))).toEqual(emptyDesktopState())
    writeFileSync(join(dir, 'odd.json'), JSON.stringify({ window: { bounds: { x: 'a', y: 0, width: -5, height: 10 }, maximized: 'yes' }, lastWorkspace: 42 }))
    expect(loadDesktopState(join(dir, 'odd.json'))).toEqual(emptyDesktopState())
  })

  it('writes whole files only (through a temporary file)', () => {
    const file = join(dir, 'atomic.json')
    saveDesktopState(file, emptyDesktopState())
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(emptyDesktopState())
  })
})

describe('fitting the window to the screens there are now', () => {
  it('centres the default size on the primary screen the first time', () => {
    expect(fitToScreens(null, [laptop])).toEqual({ x: 20, y: 25, width: DEFAULT_SIZE.width, height: 875 })
  })

  it('keeps bounds that are on a screen', () => {
    const saved = { x: 1600, y: 100, width: 1400, height: 900 }
    expect(fitToScreens(saved, [laptop, monitorOnTheRight])).toEqual(saved)
  })

  it('brings a window back from a monitor that was unplugged, centred on the primary screen', () => {
    expect(fitToScreens({ x: 1600, y: 100, width: 1200, height: 800 }, [laptop])).toEqual({ x: 120, y: 63, width: 1200, height: 800 })
  })

  it('shrinks a window larger than its screen and moves its title bar onto it', () => {
    expect(fitToScreens({ x: -50, y: -10, width: 3000, height: 2000 }, [laptop])).toEqual(laptop)
  })

  it('keeps a window that hangs off an edge reachable', () => {
    const fitted = fitToScreens({ x: 1300, y: 800, width: 1000, height: 700 }, [laptop])
    expect(fitted).toEqual({ x: 440, y: 200, width: 1000, height: 700 })
  })

  it('never restores a window smaller than the minimum the screen allows', () => {
    expect(fitToScreens({ x: 100, y: 100, width: 200, height: 100 }, [laptop])).toMatchObject(MIN_SIZE)
  })
})
