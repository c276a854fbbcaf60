import type { StreamMetadata } from '../../shared/model/events'

export const STATE_LIVE = 0
export const STATE_DELETED = 1
export const STATE_TOMBSTONED = 2

export function stateName(state: number): 'live' | 'deleted' | 'tombstoned' {
  return state === STATE_TOMBSTONED ? 'tombstoned' : state === STATE_DELETED ? 'deleted' : 'live'
}

/** What a stream's metadata and deletes hide, in a form a reader can apply cheaply. */
export interface VisibilityRule {
  /** No event is visible (tombstoned). */
  hideAll: boolean
  /** The lowest visible version. */
  minVersion: number
  /** Events recorded before this time (ms) are hidden; 0 = no limit. */
  minRecordedAt: number
}

export function visibilityRule(
  stream: { version: number; state: number; deletedBefore: number; metadata: StreamMetadata },
  now: number
): VisibilityRule {
  const m = stream.metadata
  let minVersion = Math.max(1, stream.deletedBefore, m.truncateBefore ?? 0)
  if (m.maxCount !== undefined) minVersion = Math.max(minVersion, stream.version - m.maxCount + 1)
  return {
    hideAll: stream.state === STATE_TOMBSTONED,
    minVersion,
    minRecordedAt: m.maxAge !== undefined ? now - m.maxAge * 1000 : 0
  }
}

export function isRestricted(state: number, deletedBefore: number, metadata: StreamMetadata): boolean {
  return (
    state !== STATE_LIVE ||
    deletedBefore > 0 ||
    metadata.maxCount !== undefined ||
    metadata.maxAge !== undefined ||
    (metadata.truncateBefore ?? 0) > 1
  )
}

export function isVisible(rule: VisibilityRule, version: number, recordedAt: number): boolean {
  return !rule.hideAll && version >= rule.minVersion && recordedAt >= rule.minRecordedAt
}

/** Why an event is hidden, for scavenge reports. */
export function hiddenReason(rule: VisibilityRule, metadata: StreamMetadata, deletedBefore: number): string {
  if (rule.hideAll) return 'tombstoned'
  const reasons: string[] = []
  if (deletedBefore > 1) reasons.push('soft-deleted')
  if ((metadata.truncateBefore ?? 0) > 1) reasons.push(`truncateBefore ${metadata.truncateBefore}`)
  if (metadata.maxCount !== undefined) reasons.push(`maxCount ${metadata.maxCount}`)
  if (metadata.maxAge !== undefined) reasons.push(`maxAge ${metadata.maxAge}s`)
  return reasons.join(', ')
}
