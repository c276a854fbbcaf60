import { defineStore } from 'pinia'
import { ref, watch } from 'vue'
import { useConnectionStore } from './connection'
import { describeError } from './errors'
import { useWorkspaceStore } from './workspace'

export type TypingsFile = { path: string; content: string }

/**
 * The declarations the editor type-checks definition files against: the `workbench` module and the event
 * types found in the workspace's log. Fetched again whenever the workspace changes while an editor is open.
 */
export const useTypingsStore = defineStore('typings', () => {
  const connection = useConnectionStore()
  const workspace = useWorkspaceStore()
  const files = ref<TypingsFile[]>([])
  const error = ref<string | null>(null)
  let users = 0
  let pending: Promise<void> | null = null
  let again = false

  async function refresh(): Promise<void> {
    // One fetch at a time; a change during a fetch asks for one more.
    if (pending) {
      again = true
      return pending
    }
    pending = (async () => {
      do {
        again = false
        try {
          files.value = (await connection.rpc().workspace.typings()).files
          error.value = null
        } catch (e) {
          error.value = `Could not load the editor's typings: ${describeError(e)}`
        }
      } while (again)
    })()
    try {
      await pending
    } finally {
      pending = null
    }
  }

  /** An editor needs the typings: fetch them, and follow the workspace until every user has let go. */
  function use(): () => void {
    users++
    void refresh()
    let released = false
    return () => {
      if (released) return
      released = true
      users--
    }
  }

  watch(
    () => [workspace.state?.path, workspace.state?.revision],
    () => {
      if (users > 0) void refresh()
    }
  )

  return { files, error, refresh, use }
})
