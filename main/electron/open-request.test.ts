import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { classifyPath, openRequests, optionValue, pathFromFileUrl, pathsFromArgv } from './open-request'

describe('paths on the command line', () => {
  it('takes the paths after the executable of a packaged app, resolved against the launching folder', () => {
    expect(pathsFromArgv(['/opt/Event Workbench/event-workbench', 'shop', '/data/log.ndjson'], { defaultApp: false, cwd: '/home/ann' })).toEqual([
      '/home/ann/shop',
      '/data/log.ndjson'
    ])
  })

  it('skips the app folder when run as `electron <app>` in development', () => {
    expect(pathsFromArgv(['/x/electron', '.', 'shop'], { defaultApp: true, cwd: '/repo' })).toEqual(['/repo/shop'])
    expect(pathsFromArgv(['/x/electron', '/repo'], { defaultApp: true, cwd: '/repo' })).toEqual([])
  })

  it('ignores switches from Chromium, the inspector, macOS and our own options with their values', () => {
    const argv = ['/x/electron', '--inspect=0', '--remote-debugging-port=0', '/repo', '--demo-events', '3000', '-psn_0_12345', '--original-process-start-time=1', '--', 'shop']
    expect(pathsFromArgv(argv, { defaultApp: true, cwd: '/w' })).toEqual(['/w/shop'])
    expect(optionValue(argv, '--demo-events')).toBe('3000')
    expect(optionValue(['--demo-events=12'], '--demo-events')).toBe('12')
    expect(optionValue(['x'], '--demo-events')).toBeUndefined()
  })
})

describe('what opening a path means', () => {
  const root = mkdtempSync(join(tmpdir(), 'esw-open-'))
  const shop = join(root, 'shop')
  mkdirSync(shop)
  writeFileSync(join(shop, 'workbench.json'), '{}')
  writeFileSync(join(shop, 'events.db'), '')
  writeFileSync(join(root, 'log.ndjson'), '')
  writeFileSync(join(root, 'LOG.JSONL'), '')
  writeFileSync(join(root, 'notes.txt'), '')

  it('opens a folder as a workspace, and the folder of a workspace file', () => {
    expect(classifyPath(shop)).toEqual({ kind: 'workspace', dir: shop })
    expect(classifyPath(join(shop, 'workbench.json'))).toEqual({ kind: 'workspace', dir: shop })
    expect(classifyPath(join(shop, 'events.db'))).toEqual({ kind: 'workspace', dir: shop })
  })

  it('imports an NDJSON event log, whatever the case of its extension', () => {
    expect(classifyPath(join(root, 'log.ndjson'))).toEqual({ kind: 'events', file: join(root, 'log.ndjson') })
    expect(classifyPath(join(root, 'LOG.JSONL'))).toEqual({ kind: 'events', file: join(root, 'LOG.JSONL') })
  })

  it('refuses other files and missing paths, saying why', () => {
    expect(classifyPath(join(root, 'notes.txt'))).toMatchObject({ kind: 'unsupported', reason: expect.stringContaining('notes.txt is not an event log') })
    expect(classifyPath(join(root, 'gone'))).toMatchObject({ kind: 'unsupported', reason: expect.stringContaining('does not exist') })
  })

  it('opens the last workspace given first, then the rest in order', () => {
    const other = join(root, 'other')
    mkdirSync(other)
    expect(openRequests([join(root, 'log.ndjson'), shop, other, join(root, 'notes.txt')]).map((r) => r.kind)).toEqual(['workspace', 'events', 'unsupported'])
    expect(openRequests([shop, other])[0]).toEqual({ kind: 'workspace', dir: other })
  })
})

describe('dropped files', () => {
  it('turns the file: URL a drop navigates to into a path', () => {
    expect(pathFromFileUrl('file:///home/ann/My%20logs/a.ndjson', 'linux')).toBe('/home/ann/My logs/a.ndjson')
    expect(pathFromFileUrl('file:///home/ann/shop/', 'darwin')).toBe('/home/ann/shop')
    expect(pathFromFileUrl('file:///C:/Users/Ann/a.ndjson', 'win32')).toBe('C:\\Users\\Ann\\a.ndjson')
    expect(pathFromFileUrl('file://server/share/a.ndjson', 'win32')).toBe('\\\\server\\share\\a.ndjson')
  })

  it('ignores every other URL', () => {
    expect(pathFromFileUrl('https://example.com/a.ndjson', 'linux')).toBeNull()
    expect(pathFromFileUrl('app://workbench/index.html', 'linux')).toBeNull()
    expect(pathFromFileUrl('not a url', 'linux')).toBeNull()
  })
})
