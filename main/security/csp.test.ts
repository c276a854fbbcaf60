import { describe, expect, it } from 'vitest'
import { contentSecurityPolicy } from './csp'

const directives = (csp: string) => new Map(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]))

describe('content security policy', () => {
  it('allows only the app itself, with what Monaco needs', () => {
    const d = directives(contentSecurityPolicy())
    expect(d.get('default-src')).toEqual(["'self'"])
    expect(d.get('script-src')).toEqual(["'self'"])
    expect(d.get('worker-src')).toEqual(["'self'", 'blob:'])
    expect(d.get('img-src')).toEqual(["'self'", 'data:'])
    expect(d.get('object-src')).toEqual(["'none'"])
    expect(contentSecurityPolicy()).not.toMatch(/unsafe-eval|\*|https?:/)
  })

  it('adds the browser host WebSocket to connect-src only', () => {
    const d = directives(contentSecurityPolicy({ connect: ['ws://127.0.0.1:4000'] }))
    expect(d.get('connect-src')).toEqual(["'self'", 'ws://127.0.0.1:4000'])
    expect(d.get('script-src')).toEqual(["'self'"])
  })
})
