import { isErrorShape } from '../../../shared/rpc/errors'

/** A message a person can act on, from an RpcError or anything else that was thrown. */
export function describeError(error: unknown): string {
  if (isErrorShape(error)) return error.message
  if (error instanceof Error) return error.message
  return String(error)
}

/** The code of an RpcError, or null for anything else. */
export function errorCode(error: unknown): string | null {
  return isErrorShape(error) ? error.code : null
}

/** The facts of a WrongExpectedVersion error: which stream, what the caller expected, where the stream is. */
export interface VersionConflict {
  streamId: string
  expected: string
  actual: string
  message: string
}

export function versionConflictOf(error: unknown, fallbackStreamId: string, expected: unknown): VersionConflict | null {
  if (!isErrorShape(error) || error.code !== 'WrongExpectedVersion') return null
  const details = (typeof error.details === 'object' && error.details !== null ? error.details : {}) as Record<string, unknown>
  const streamId = typeof details.streamId === 'string' ? details.streamId : fallbackStreamId
  const shown = (v: unknown) => (v === undefined || v === null ? 'unknown' : String(v))
  const wanted = shown(details.expected ?? expected)
  const actual = shown(details.actual)
  return {
    streamId,
    expected: wanted,
    actual,
    message: `Version conflict on stream "${streamId}": expected version ${wanted}, but the stream is at version ${actual}. Someone else appended first; reload the stream and try again.`
  }
}
