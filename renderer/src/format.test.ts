import { describe, expect, it } from 'vitest'
import { byteSize, compactTime, count, duration, isoTime, rate, shortTime } from './format'

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

  it('shows lags and rates short', () => {
    expect(duration(0)).toBe('0 ms')
    expect(duration(850)).toBe('850 ms')
    expect(duration(4200)).toBe('4.2 s')
    expect(duration(42_000)).toBe('42 s')
    expect(duration(180_000)).toBe('3 min')
    expect(duration(-1)).toBe('—')
    expect(count(1234567)).toBe('1,234,567')
    expect(count(null)).toBe('—')
    expect(rate(0)).toBe('0 ev/s')
    expect(rate(812.4)).toBe('812 ev/s')
    expect(rate(4321)).toBe('4.3k ev/s')
  })
})
