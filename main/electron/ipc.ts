import { ipcMain, type IpcMainEvent, type WebContents } from 'electron'
import { RPC_CHANNEL } from '../../shared/rpc/channel'
import type { Disposer, Protocol } from '../../shared/rpc/protocol'
import { serve } from '../../shared/rpc/server'
import type { Workbench } from '../services'
import { isTrustedSender } from './sender-check'

/** Serves the workbench to one page load of a window over Electron IPC; returns a disposer. */
function bindPage(contents: WebContents, workbench: Workbench, isAppUrl: (url: string) => boolean, connectionId: string): Disposer {
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
    connectionId,
    onInternalError: (error, where) => console.error(`[ipc] ${where}:`, error)
  })
  return () => {
    ipcMain.removeListener(RPC_CHANNEL, onIpc)
    stop()
    for (const l of closeListeners) l()
  }
}

/**
 * Serves the workbench to a window for as long as it lives. Each page load (a reload, or the reload after a crash)
 * gets a fresh connection: the old page's subscriptions end with it instead of piling up.
 */
export function serveWindow(contents: WebContents, workbench: Workbench, isAppUrl: (url: string) => boolean): Disposer {
  let load = 0
  let current: Disposer = bindPage(contents, workbench, isAppUrl, `window-${contents.id}-${load}`)
  const onNavigation = (details: { isMainFrame: boolean; isSameDocument: boolean }) => {
    if (!details.isMainFrame || details.isSameDocument) return
    current()
    current = bindPage(contents, workbench, isAppUrl, `window-${contents.id}-${++load}`)
  }
  contents.on('did-start-navigation', onNavigation)
  const dispose = () => {
    contents.removeListener('did-start-navigation', onNavigation)
    current()
  }
  contents.once('destroyed', dispose)
  return dispose
}
