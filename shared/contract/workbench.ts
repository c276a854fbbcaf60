import { z } from 'zod'
import { defineService, event, method } from '../rpc/contract'

export const engineCapability = z.enum(['store', 'replay', 'projections', 'upcasters', 'sagas', 'commands', 'workspaces'])

export const workbenchInfo = z.object({
  appName: z.string(),
  appVersion: z.string(),
  workspacePath: z.string().nullable(),
  workspaceName: z.string().nullable(),
  trusted: z.boolean(),
  host: z.enum(['electron', 'browser', 'test']),
  capabilities: z.array(engineCapability)
})
export type WorkbenchInfo = z.infer<typeof workbenchInfo>

export const workbenchService = defineService({
  methods: {
    /** What is running: app version, open workspace, trust, and which engine capabilities exist. */
    info: method('App version, open workspace, trust and engine capabilities', z.void(), workbenchInfo),
    /** Liveness check used by the status bar. */
    ping: method('Answers pong with the server time', z.void(), z.object({ pong: z.literal(true), serverTime: z.number() })),
    /** Returns its input and publishes it as an `echoed` event (used by transport tests). */
    echo: method(
      'Returns the given text and publishes it as an echoed event',
      z.object({ text: z.string().max(1_000_000), repeat: z.number().int().min(1).max(100).optional() }),
      z.object({ text: z.string() })
    )
  },
  events: {
    /** Published by echo. */
    echoed: event('An echo call happened', z.object({ text: z.string(), at: z.number() }))
  }
})
