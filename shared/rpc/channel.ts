/** The single Electron IPC channel that carries RPC messages (both directions). */
export const RPC_CHANNEL = 'esw:rpc'

/** The name under which the preload exposes the bridge on `window`. */
export const BRIDGE_NAME = 'eswBridge'

/** Messages above this size are refused by every transport. */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024
