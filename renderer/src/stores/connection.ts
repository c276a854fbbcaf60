import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { WorkbenchInfo } from '../../../shared/contract'
import { createClient, openTransport, type Transport, type WorkbenchClient } from '../rpc'

export type ConnectionState = 'connecting' | 'connected' | 'disconnected'

/** The connection to the workbench engine: the one place that owns the RPC client. */
export const useConnectionStore = defineStore('connection', () => {
  const state = ref<ConnectionState>('connecting')
  const info = ref<WorkbenchInfo | null>(null)
  const error = ref<string | null>(null)
  const transportKind = ref<Transport['kind'] | null>(null)
  const client = shallowRef<WorkbenchClient | null>(null)
  let retryTimer: ReturnType<typeof setTimeout> | undefined

  async function connect(): Promise<void> {
    clearTimeout(retryTimer)
    state.value = 'connecting'
    const transport = openTransport()
    transportKind.value = transport.kind
    try {
      await transport.ready
      const next = createClient(transport)
      transport.protocol.onClose?.(() => {
        if (client.value !== next) return
        client.value = null
        state.value = 'disconnected'
        error.value = 'Connection to the workbench lost; retrying'
        retryTimer = setTimeout(() => void connect(), 2000)
      })
      info.value = await next.workbench.info()
      client.value = next
      state.value = 'connected'
      error.value = null
    } catch (e) {
      state.value = 'disconnected'
      error.value = e instanceof Error ? e.message : String(e)
      retryTimer = setTimeout(() => void connect(), 2000)
    }
  }

  /** The client, or an error a store can show when the engine is not reachable. */
  function rpc(): WorkbenchClient {
    if (!client.value) throw new Error('Not connected to the workbench')
    return client.value
  }

  const workspaceLabel = computed(() => info.value?.workspaceName ?? info.value?.workspacePath ?? 'No workspace open')

  return { state, info, error, transportKind, client, connect, rpc, workspaceLabel }
})
