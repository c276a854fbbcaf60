import type { InjectionKey } from 'vue'
import type { EventRef } from '../../../shared/contract'
import type { ChangeIndex, FieldPath } from '../json-tree'

/** What every node of one JsonTree reads: the changes to mark, the blame to show, and where to report hover and clicks. */
export interface JsonTreeContext {
  changes(): ChangeIndex
  /** Null: no event set it (initialState); undefined: not known yet. */
  blameOf(path: FieldPath): EventRef | null | undefined
  describe(event: EventRef): string
  hover(path: FieldPath | null): void
  pick(path: FieldPath): void
}

export const jsonTreeContext: InjectionKey<JsonTreeContext> = Symbol('json-tree')
