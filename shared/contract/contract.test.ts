import { describe, expect, expectTypeOf, it } from 'vitest'
import type { Client } from '../rpc/contract'
import { contract, type WorkbenchContract, type WorkbenchInfo } from './index'

describe('the workbench contract', () => {
  it('gives every method a one-line doc and schemas', () => {
    for (const [service, def] of Object.entries(contract)) {
      for (const [name, m] of Object.entries(def.methods)) {
        expect(m.doc, `${service}.${name}`).toMatch(/^\S.{5,}$/)
        expect(m.input, `${service}.${name}`).toBeDefined()
        expect(m.output, `${service}.${name}`).toBeDefined()
      }
    }
  })

  it('types the client proxy from the contract', () => {
    type C = Client<WorkbenchContract>
    expectTypeOf<C['workbench']['info']>().toEqualTypeOf<(input?: void) => Promise<WorkbenchInfo>>()
    expectTypeOf<C['workbench']['echo']>().toEqualTypeOf<(input: { text: string; repeat?: number }) => Promise<{ text: string }>>()
    expectTypeOf<Parameters<C['workbench']['on']>[0]>().toEqualTypeOf<'echoed'>()
  })
})
