import { ipcMain, type IpcMainEvent, type WebContents } from 'electron'
import { RPC_CHANNEL } from '../../shared/rpc/channel'
import type { Disposer, Protocol } from '../../shared/rpc/protocol'
import { serve } from '../../shared/rpc/server'
import type { Workbench } from '../services'

/** True when the message comes from the main frame of a window we made, showing our own page. */
export function isTrustedSender(event: IpcMainEvent, contents: WebContents, isAppUrl: (url: string) => boolean): boolean {
  const frame = event.senderFrame
  if (!frame || event.sender !== contents) return false
  if (frame !== contents.mainFrame) return false
  return isAppUrl(frame.url)
}

/** Serves the workbench to one window over Electron IPC; returns a disposer. */
export function bindWindow(contents: WebContents, workbench: Workbench, isAppUrl: (url: string) => boolean): Disposer {
  const listeners = new Set<(message: string) => void>()
  const closeListeners = new Set<() => void>()
  const protocol: Protocol = {
    send: (message) => {
      if (!contents.isDestroyed()) contents.send(RPC_CHANNEL, message)
    },
    onMessage: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    onClose: (listener) => {
      closeListeners.add(listener)
      return () => closeListeners.delete(listener)
    }
  }
  const onIpc = (event: IpcMainEvent, message: unknown) => {
    if (event.sender !== contents) return
    if (!isTrustedSender(event, contents, isAppUrl)) {
      console.warn(`[ipc] refused a message from ${event.senderFrame?.url ?? 'an unknown frame'}`)
      return
    }
    if (typeof message !== 'string') return
    for (const l of listeners) l(message)
  }
  ipcMain.on(RPC_CHANNEL, onIpc)
  const stop = serve(workbench.contract, workbench.implementation, protocol, {
    events: workbench.events,
    connectionId: `window-${contents.id}`,
    onInternalError: (error, where) => console.error(`[ipc] ${where}:`, error)
  })
  const dispose = () => {
    ipcMain.removeListener(RPC_CHANNEL, onIpc)
    stop()
    for (const l of closeListeners) l()
  }
  contents.once('destroyed', dispose)
  return dispose
}
