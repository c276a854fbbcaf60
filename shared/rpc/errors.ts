import type { z } from 'zod'

/** Every error code that may cross the RPC boundary. */
export const errorCodes = [
  'InvalidInput',
  'UnknownMethod',
  'Internal',
  'PayloadTooLarge',
  'Disconnected',
  'NotFound',
  'WrongExpectedVersion',
  'StreamDeleted',
  'DuplicateEventId',
  'Conflict',
  'Rejected',
  'UserCodeFailed',
  'Timeout',
  'Cancelled',
  'Untrusted',
  /** A server (the PostgreSQL store) wants a password the workbench does not have, or refused the one given. */
  'CredentialsNeeded',
  /** A server (the PostgreSQL store) could not be reached. */
  'Unavailable'
] as const

export type ErrorCode = (typeof errorCodes)[number]

export interface ErrorShape {
  code: ErrorCode
  message: string
  details?: unknown
}

/** The one error shape of the workbench: a code, a message a person can act on, and details for tools. */
export class RpcError extends Error implements ErrorShape {
  readonly code: ErrorCode
  readonly details?: unknown

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message)
    this.name = 'RpcError'
    this.code = code
    this.details = details
  }

  toJSON(): ErrorShape {
    return { code: this.code, message: this.message, details: this.details }
  }
}

export function isErrorShape(value: unknown): value is ErrorShape {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ErrorShape).code === 'string' &&
    (errorCodes as readonly string[]).includes((value as ErrorShape).code) &&
    typeof (value as ErrorShape).message === 'string'
  )
}

/** `a.b[2].c` from a zod issue path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out === '' ? String(key) : `.${String(key)}`
  }
  return out === '' ? '(root)' : out
}

/** Turns a zod error into InvalidInput whose message names each bad field and what was expected. */
export function invalidInputFromZod(error: z.ZodError, where: string): RpcError {
  const issues = error.issues.map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message,
    code: issue.code
  }))
  const text = issues.map((i) => `${i.path}: ${i.message}`).join('; ')
  return new RpcError('InvalidInput', `Invalid input for ${where}: ${text}`, { issues })
}
