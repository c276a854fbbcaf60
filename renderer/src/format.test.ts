import { describe, expect, it } from 'vitest'
import { byteSize, compactTime, isoTime, shortTime } from './format'

describe('formatting for the panel', () => {
  const at = Date.UTC(2025, 2, 1, 14, 2, 9, 120)

  it('shows recorded times in UTC', () => {
    expect(isoTime(at)).toBe('2025-03-01T14:02:09.120Z')
    expect(shortTime(at)).toBe('2025-03-01 14:02:09')
    expect(isoTime(null)).toBe('—')
  })

  it('shows the time for today and the date for earlier days', () => {
    expect(compactTime(at, Date.UTC(2025, 2, 1, 23, 0))).toBe('14:02:09')
    expect(compactTime(at, Date.UTC(2025, 2, 2, 1, 0))).toBe('2025-03-01')
  })

  it('sizes bytes in binary units', () => {
    expect(byteSize(552)).toBe('552 B')
    expect(byteSize(2 * 1024 * 1024)).toBe('2.0 MiB')
  })
})
