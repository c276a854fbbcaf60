import { z } from 'zod'
import { defineService, event, method } from '../rpc/contract'
import { recordedEvent } from '../model/events'

export const deciderInfo = z.object({
  name: z.string(),
  streamPrefix: z.string(),
  file: z.string(),
  description: z.string().nullable(),
  commands: z.array(z.object({ name: z.string(), description: z.string().nullable(), schema: z.unknown() }))
})
export type DeciderInfo = z.infer<typeof deciderInfo>

export const commandOutcome = z.discriminatedUnion('outcome', [
  z.object({
    outcome: z.literal('accepted'),
    commandId: z.string(),
    streamId: z.string(),
    events: z.array(recordedEvent),
    /** True when the idempotency key was seen before and this is the first outcome again. */
    repeated: z.boolean()
  }),
  z.object({
    outcome: z.literal('rejected'),
    commandId: z.string(),
    streamId: z.string().nullable(),
    rule: z.string(),
    message: z.string(),
    repeated: z.boolean()
  })
])
export type CommandOutcome = z.infer<typeof commandOutcome>

export const sentCommand = z.object({
  commandId: z.string(),
  decider: z.string(),
  command: z.string(),
  data: z.record(z.string(), z.unknown()),
  sentAt: z.number(),
  outcome: z.enum(['accepted', 'rejected', 'invalid', 'failed']),
  summary: z.string(),
  streamId: z.string().nullable()
})
export type SentCommand = z.infer<typeof sentCommand>

export const commandsService = defineService({
  methods: {
    /** The deciders of the workspace and the JSON Schema of each command. */
    deciders: method('Deciders and their command schemas', z.void(), z.array(deciderInfo)),
    /** Validates, loads, folds, decides and appends; a refused rule comes back as outcome 'rejected'. */
    send: method(
      'Sends a command through its decider',
      z.object({
        decider: z.string().min(1),
        command: z.string().min(1),
        data: z.record(z.string(), z.unknown()),
        correlationId: z.string().max(200).optional(),
        causationId: z.string().max(200).optional(),
        idempotencyKey: z.string().min(1).max(200).optional()
      }),
      commandOutcome
    ),
    /** Commands sent since the workspace was opened, newest first. */
    history: method('Commands sent since the workspace was opened', z.void(), z.array(sentCommand))
  },
  events: {
    /** A command was handled (accepted, rejected, invalid or failed). */
    sent: event('A command was handled', sentCommand)
  }
})
