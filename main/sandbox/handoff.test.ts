import { describe, expect, it } from 'vitest'
import { Watching } from './handoff'

const takes = (w: Watching, n: number) => Array.from({ length: n }, () => w.take())

describe('watching for the other thread', () => {
  it('watches every time while watching pays', () => {
    const w = new Watching(0.1)
    for (let i = 0; i < 5; i++) {
      expect(w.take()).toBe(true)
      w.paid()
    }
  })

  it('skips the next watches after one that saw nothing, twice as many after each further miss, up to 1024', () => {
    const w = new Watching(0.1)
    w.missed()
    expect(takes(w, 2)).toEqual([false, true])
    w.missed()
    expect(takes(w, 3)).toEqual([false, false, true])
    w.missed()
    expect(takes(w, 5)).toEqual([false, false, false, false, true])
    for (let i = 0; i < 20; i++) w.missed()
    expect(takes(w, 1025).filter(Boolean)).toHaveLength(1)
  })

  it('comes back by halves as watching pays again', () => {
    const w = new Watching(0.1)
    w.missed()
    w.missed()
    w.missed() // next miss would skip 8
    takes(w, 4)
    w.paid() // 8 → 4
    w.missed()
    expect(takes(w, 5)).toEqual([false, false, false, false, true])
  })
})
