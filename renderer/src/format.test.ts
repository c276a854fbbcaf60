import { describe, expect, it } from 'vitest'
import { byteSize, cellTitle, compactTime, count, duration, isoTime, rate, shortTime } from './format'

describe('formatting for the panel', () => {
  it('reads a time column of a read model as a time in its tooltip', () => {
    expect(cellTitle('placedAt', 1739823636543, '1739823636543')).toBe('1739823636543 = 2025-02-17T20:20:36.543Z')
    expect(cellTitle('updated_at', 1739823636543, '1739823636543')).toBe('1739823636543 = 2025-02-17T20:20:36.543Z')
    expect(cellTitle('totalCents', 1739823636543, '1739823636543')).toBe('1739823636543')
    expect(cellTitle('placedAt', 12, '12')).toBe('12')
    expect(cellTitle('placedAt', 'soon', 'soon')).toBe('soon')
    expect(cellTitle('placedAt', null, '')).toBe('')
  })

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
