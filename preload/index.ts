import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { BRIDGE_NAME, MAX_MESSAGE_BYTES, RPC_CHANNEL } from '../shared/rpc/channel'

// One narrow bridge: text messages on the single RPC channel, nothing else. The renderer never sees ipcRenderer.
contextBridge.exposeInMainWorld(BRIDGE_NAME, {
  send(message: string): void {
    if (typeof message !== 'string') throw new TypeError('The workbench bridge carries text messages only')
    if (message.length > MAX_MESSAGE_BYTES) throw new RangeError(`Message larger than ${MAX_MESSAGE_BYTES} bytes refused`)
    ipcRenderer.send(RPC_CHANNEL, message)
  },
  onMessage(listener: (message: string) => void): () => void {
    const handler = (_event: IpcRendererEvent, message: unknown) => {
      if (typeof message === 'string') listener(message)
    }
    ipcRenderer.on(RPC_CHANNEL, handler)
    return () => {
      ipcRenderer.removeListener(RPC_CHANNEL, handler)
    }
  }
})
