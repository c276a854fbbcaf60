import { describe, expect, it } from 'vitest'
import { MemoryCredentials } from './credentials'

describe('credentials held in memory', () => {
  it('answers with a password given for the location, else ESW_PG_PASSWORD, and forgets on request', () => {
    const credentials = new MemoryCredentials({ ESW_PG_PASSWORD: 'from-env' })
    expect(credentials.get('postgres://a@h:5432/db')).toBe('from-env')
    credentials.set('postgres://a@h:5432/db', 'given', true)
    expect(credentials.get('postgres://a@h:5432/db')).toBe('given')
    expect(credentials.get('postgres://b@h:5432/db')).toBe('from-env')
    credentials.forget('postgres://a@h:5432/db')
    expect(credentials.get('postgres://a@h:5432/db')).toBe('from-env')
    expect(new MemoryCredentials({}).get('postgres://a@h:5432/db')).toBeUndefined()
    expect(credentials.canRemember).toBe(false)
  })
})
