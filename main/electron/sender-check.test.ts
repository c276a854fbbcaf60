import type { WebContents, WebFrameMain } from 'electron'
import { describe, expect, it } from 'vitest'
import { appUrlCheck, isTrustedSender, type SenderEvent } from './sender-check'

const frame = (url: string) => ({ url }) as WebFrameMain
const mainFrame = frame('app://workbench/index.html')
const contents = { mainFrame } as WebContents
const isAppUrl = appUrlCheck('app://workbench')

describe('IPC sender check', () => {
  it('accepts the main frame of its own window showing the app', () => {
    expect(isTrustedSender({ sender: contents, senderFrame: mainFrame } as SenderEvent, contents, isAppUrl)).toBe(true)
  })

  it('refuses another window, a subframe, a missing frame and a page from elsewhere', () => {
    const other = { mainFrame: frame('app://workbench/index.html') } as WebContents
    expect(isTrustedSender({ sender: other, senderFrame: other.mainFrame } as SenderEvent, contents, isAppUrl)).toBe(false)
    expect(isTrustedSender({ sender: contents, senderFrame: frame('app://workbench/frame.html') } as SenderEvent, contents, isAppUrl)).toBe(false)
    expect(isTrustedSender({ sender: contents, senderFrame: null } as SenderEvent, contents, isAppUrl)).toBe(false)
    const navigated = { mainFrame: frame('https://example.com/') } as WebContents
    expect(isTrustedSender({ sender: navigated, senderFrame: navigated.mainFrame } as SenderEvent, navigated, isAppUrl)).toBe(false)
  })

  it('counts only the app origin, and a development server when one is given', () => {
    expect(isAppUrl('app://workbench/index.html')).toBe(true)
    expect(isAppUrl('app://workbench.evil/index.html')).toBe(false)
    expect(isAppUrl('http://localhost:5173/')).toBe(false)
    expect(appUrlCheck('app://workbench', 'http://localhost:5173')('http://localhost:5173/#/streams')).toBe(true)
    expect(appUrlCheck('app://workbench', '')('')).toBe(false)
  })
})
