import { existsSync, mkdirSync, watch, type FSWatcher } from 'node:fs'
import { join } from 'node:path'
import { definitionKinds } from '../../shared/model/definitions'

/**
 * Tells when definition files change on disk (another editor, git checkout ...). Changes are gathered for a
 * short moment so one save is one notification.
 */
export function watchDefinitions(dir: string, onChange: () => void, debounceMs = 150): () => void {
  const watchers: FSWatcher[] = []
  let timer: NodeJS.Timeout | null = null
  const changed = () => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(onChange, debounceMs)
  }
  for (const kind of definitionKinds) {
    const folder = join(dir, kind)
    if (!existsSync(folder)) mkdirSync(folder, { recursive: true })
    try {
      const w = watch(folder, (_event, name) => {
        if (!name || (name.toString().endsWith('.ts') && !name.toString().startsWith('.'))) changed()
      })
      w.on('error', () => {})
      watchers.push(w)
    } catch {
      // A folder that cannot be watched is still read on open and on save.
    }
  }
  return () => {
    if (timer) clearTimeout(timer)
    for (const w of watchers) w.close()
  }
}
