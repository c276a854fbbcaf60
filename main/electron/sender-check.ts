import type { IpcMainEvent, WebContents } from 'electron'

/** The parts of an IPC event the check reads (a plain object in tests). */
export type SenderEvent = Pick<IpcMainEvent, 'sender' | 'senderFrame'>

/**
 * True when a message comes from the main frame of the window it was bound to, showing the app's own page: not
 * another window, not a subframe, not a page that was navigated elsewhere.
 */
export function isTrustedSender(event: SenderEvent, contents: WebContents, isAppUrl: (url: string) => boolean): boolean {
  const frame = event.senderFrame
  if (!frame || event.sender !== contents) return false
  if (frame !== contents.mainFrame) return false
  return isAppUrl(frame.url)
}

/** The origin the renderer is served from; only its pages (or the development server's) may talk to the engine. */
export function appUrlCheck(appOrigin: string, devServer?: string): (url: string) => boolean {
  return (url) => url.startsWith(`${appOrigin}/`) || (devServer !== undefined && devServer !== '' && url.startsWith(devServer))
}
