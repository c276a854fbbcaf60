import { projectionDescriptor, type ProjectionDescriptor } from '../../shared/contract/projections'
import type { SandboxContext } from '../sandbox/context'
import { userCodeError } from '../sandbox/sandbox'
import { checkDescriptor } from './tables'

/** The projections a loaded definition file exports, as checked descriptors (in a thread that holds a context). */
export function describeFile(context: SandboxContext, file: string): ProjectionDescriptor[] {
  const answer = context.call(JSON.stringify({ op: 'projection.describe', file }))
  if (!answer.ok) throw userCodeError(answer.failure, `describing ${file}`)
  return parseDescriptors(JSON.parse(answer.result) as unknown[], file)
}

export function parseDescriptors(raw: unknown[], file: string): ProjectionDescriptor[] {
  return raw.map((d) => {
    const descriptor = projectionDescriptor.parse({ ...(d as object), file })
    checkDescriptor(descriptor)
    return descriptor
  })
}
