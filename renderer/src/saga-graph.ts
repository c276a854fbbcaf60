import type { CausationGraph, SagaDescriptor, SagaInstance, SagaProblem, StepState } from '../../shared/contract/sagas'
import type { RecordedEvent } from '../../shared/model/events'
import type { LayoutEdge, LayoutNode } from './flow-layout'

// ------------------------------------------------------------------------------------------ a saga's definition

export type SagaNodeKind = 'trigger' | 'step' | 'compensation' | 'completed' | 'compensated' | 'parked'
export type SagaEdgeKind = 'success' | 'failure' | 'compensation' | 'park'

export interface SagaGraphNode extends LayoutNode {
  kind: SagaNodeKind
  label: string
  /** The step a step or compensation node stands for. */
  step: string | null
  /** Event types on the node: what starts the saga, what completes or fails a step. */
  onSuccess: string[]
  onFailure: string[]
  pointOfNoReturn: boolean
  timeoutMs: number | null
  retries: number
  /** A definition problem of this step. */
  problem: string | null
}

export interface SagaGraphEdge extends LayoutEdge {
  kind: SagaEdgeKind
  label: string
}

export interface SagaGraph {
  nodes: SagaGraphNode[]
  edges: SagaGraphEdge[]
}

export const stepNodeId = (step: string) => `step:${step}`
export const undoNodeId = (step: string) => `undo:${step}`
export const START = 'start'
export const COMPLETED = 'end:completed'
export const COMPENSATED = 'end:compensated'
export const PARKED = 'end:parked'

const STEP_SIZE = { width: 188, height: 84 }
const UNDO_SIZE = { width: 188, height: 44 }
const END_SIZE = { width: 132, height: 44 }
const TRIGGER_SIZE = { width: 140, height: 44 }

/**
 * Where a failure after step `index` leads, as the coordinator decides it: the compensation of the nearest completed
 * step before it that has one; parked if that walk meets the point of no return; compensated when nothing is left.
 */
function undoTarget(saga: SagaDescriptor, index: number): string {
  for (let j = index; j >= 0; j--) {
    const step = saga.steps[j]
    if (step.pointOfNoReturn) return PARKED
    if (step.hasCompensation) return undoNodeId(step.name)
  }
  return COMPENSATED
}

/**
 * A saga as a flow: its trigger, then its steps in a row joined by their success events, the compensations in a lane
 * under them running backwards, and the three ends (completed, compensated, parked). Nodes carry their lane column.
 * A failure comes down into the top of where it leads, so its line runs between the rows rather than through the lane.
 */
export function definitionGraph(saga: SagaDescriptor, problems: SagaProblem[] = []): SagaGraph {
  const n = saga.steps.length
  const base = { step: null, onSuccess: [], onFailure: [], pointOfNoReturn: false, timeoutMs: null, retries: 0, problem: null }
  const nodes: SagaGraphNode[] = [
    { ...base, id: START, kind: 'trigger', label: saga.startedBy.join(', ') || 'start', onSuccess: saga.startedBy, partition: 0, ...TRIGGER_SIZE, ports: [{ id: 'out', side: 'EAST' }] }
  ]
  saga.steps.forEach((step, i) => {
    nodes.push({
      ...base,
      id: stepNodeId(step.name),
      kind: 'step',
      label: step.name,
      step: step.name,
      onSuccess: step.onSuccess,
      onFailure: step.onFailure,
      pointOfNoReturn: step.pointOfNoReturn,
      timeoutMs: step.timeoutMs,
      retries: step.retries.max,
      problem: problems.find((p) => p.saga === saga.name && p.step === step.name)?.message ?? null,
      partition: i + 1,
      ...STEP_SIZE,
      ports: [
        { id: 'in', side: 'WEST' },
        { id: 'out', side: 'EAST' },
        { id: 'fail', side: 'SOUTH' }
      ]
    })
  })
  nodes.push({ ...base, id: COMPLETED, kind: 'completed', label: 'Completed', partition: n + 1, ...END_SIZE, ports: [{ id: 'in', side: 'WEST' }] })
  // The lane under the steps, in model order after them (ELK puts the first nodes of a column on top).
  nodes.push({ ...base, id: COMPENSATED, kind: 'compensated', label: 'Compensated', partition: 0, ...END_SIZE, ports: [{ id: 'in', side: 'EAST' }, { id: 'fail', side: 'NORTH' }] })
  saga.steps.forEach((step, i) => {
    if (!step.hasCompensation) return
    nodes.push({
      ...base,
      id: undoNodeId(step.name),
      kind: 'compensation',
      label: `undo ${step.name}`,
      step: step.name,
      partition: i + 1,
      ...UNDO_SIZE,
      ports: [
        { id: 'in', side: 'EAST' },
        { id: 'fail', side: 'NORTH' },
        { id: 'out', side: 'WEST' },
        { id: 'park', side: 'SOUTH' }
      ]
    })
  })
  nodes.push({ ...base, id: PARKED, kind: 'parked', label: 'Parked', partition: n + 1, ...END_SIZE, ports: [{ id: 'in', side: 'WEST' }, { id: 'fail', side: 'NORTH' }] })

  const edges: SagaGraphEdge[] = []
  const edge = (kind: SagaEdgeKind, source: string, sourcePort: string, target: string, label: string) =>
    edges.push({ id: `${kind}:${source}>${target}`, kind, source, sourcePort, target, targetPort: kind === 'failure' ? 'fail' : 'in', label })
  if (n === 0) edge('success', START, 'out', COMPLETED, saga.startedBy.join(', '))
  saga.steps.forEach((step, i) => {
    if (i === 0) edge('success', START, 'out', stepNodeId(step.name), '')
    const next = saga.steps[i + 1]
    edge('success', stepNodeId(step.name), 'out', next ? stepNodeId(next.name) : COMPLETED, step.onSuccess.join(', ') || 'done')
    edge('failure', stepNodeId(step.name), 'fail', undoTarget(saga, i - 1), 'fails')
  })
  saga.steps.forEach((step, i) => {
    if (!step.hasCompensation) return
    edge('compensation', undoNodeId(step.name), 'out', undoTarget(saga, i - 1), '')
    edge('park', undoNodeId(step.name), 'park', PARKED, 'refused')
  })
  return { nodes, edges }
}

/** What the graph shows of one instance: each node's state, the edges it went along, and the node it is at. */
export interface SagaOverlay {
  nodes: Record<string, NodeState>
  edges: Set<string>
  current: string | null
}

export type NodeState = StepState | 'reached' | 'refused'

/** The nodes an instance went through, in order, from its saga stream. */
export function visitedNodes(timeline: RecordedEvent[]): string[] {
  const path: string[] = []
  const visit = (id: string) => {
    if (path[path.length - 1] !== id) path.push(id)
  }
  for (const e of timeline) {
    const step = typeof e.data.step === 'string' ? e.data.step : null
    if (e.type === 'SagaStarted') visit(START)
    else if (e.type === 'SagaStepSent' && step) visit(stepNodeId(step))
    else if (e.type === 'SagaCompensationSent' && step) visit(undoNodeId(step))
    else if (e.type === 'SagaCompleted') visit(COMPLETED)
    else if (e.type === 'SagaAborted') visit(COMPENSATED)
    else if (e.type === 'SagaParked') visit(PARKED)
  }
  return path
}

/** Colours one instance onto its saga's graph: steps by their state, compensations, the end it reached, its path. */
export function instanceOverlay(graph: SagaGraph, instance: SagaInstance, timeline: RecordedEvent[]): SagaOverlay {
  const nodes: Record<string, NodeState> = { [START]: 'completed' }
  for (const [step, s] of Object.entries(instance.steps)) {
    nodes[stepNodeId(step)] = s.state
    if (s.state === 'compensated') nodes[undoNodeId(step)] = 'compensated'
    // Parked while compensating this step: its compensation was refused.
    else if (s.state === 'compensating') nodes[undoNodeId(step)] = instance.status === 'parked' ? 'refused' : 'compensating'
  }
  if (instance.status === 'completed') nodes[COMPLETED] = 'reached'
  if (instance.status === 'compensated') nodes[COMPENSATED] = 'reached'
  if (instance.status === 'parked') nodes[PARKED] = 'reached'
  const path = visitedNodes(timeline)
  const edges = new Set<string>()
  for (let i = 1; i < path.length; i++) {
    const e = graph.edges.find((x) => x.source === path[i - 1] && x.target === path[i])
    if (e) edges.add(e.id)
  }
  let current: string | null = null
  if (instance.status === 'running' && instance.current) current = stepNodeId(instance.current)
  else if (instance.status === 'compensating' && instance.current) current = undoNodeId(instance.current)
  return { nodes, edges, current }
}

// ------------------------------------------------------------------------------------------ choreography

export interface CausationNode extends LayoutNode {
  event: RecordedEvent
  category: string
}

export interface CausationEdge extends LayoutEdge {
  kind: 'caused' | 'stream'
  label: string
}

/** Command names by command id, from the saga events that sent them (`commandIds[k]` went as `commands[k]`). */
export function commandNames(events: RecordedEvent[]): Map<string, string> {
  const names = new Map<string, string>()
  for (const e of events) {
    const ids = e.data.commandIds
    const commands = e.data.commands
    if (!Array.isArray(ids) || !Array.isArray(commands)) continue
    ids.forEach((id, k) => {
      if (typeof id === 'string' && typeof commands[k] === 'string') names.set(id, commands[k] as string)
    })
  }
  return names
}

export const CAUSATION_NODE = { width: 250, height: 52 }

/**
 * A correlation id's events as a picture: an arrow from each cause to what it caused (labelled with the command in
 * between), and a faint line from each event to the next one of its stream. Where a cause caused several events of
 * one stream in a row (a saga stream records every decision as caused by its starting event), the arrow goes to the
 * first of them only, and the stream's own line leads on; `hidden` counts the arrows left out.
 */
export function causationPicture(graph: CausationGraph): { nodes: CausationNode[]; edges: CausationEdge[]; hidden: number } {
  const events = graph.nodes.map((n) => n.event).sort((a, b) => a.position - b.position)
  const names = commandNames(events)
  const byId = new Map(events.map((e) => [e.id, e]))
  const nodes: CausationNode[] = events.map((e) => ({ id: e.id, event: e, category: e.streamId.split('-')[0], ...CAUSATION_NODE }))
  const edges: CausationEdge[] = []
  const previousInStream = new Map<string, RecordedEvent>()
  const previous = new Map<string, RecordedEvent>()
  for (const e of events) {
    const before = previousInStream.get(e.streamId)
    if (before) {
      previous.set(e.id, before)
      edges.push({ id: `stream:${before.id}>${e.id}`, kind: 'stream', source: before.id, target: e.id, sourcePort: 'out', targetPort: 'in', label: '' })
    }
    previousInStream.set(e.streamId, e)
  }
  let hidden = 0
  for (const edge of graph.edges) {
    const target = byId.get(edge.to)
    if (!target || !byId.has(edge.from)) continue
    const before = previous.get(target.id)
    // The one before it in its stream came from the same cause: the stream's line says it already.
    if (before && graph.edges.some((x) => x.from === edge.from && x.to === before.id)) {
      hidden++
      continue
    }
    const label = edge.command ?? (edge.commandId ? names.get(edge.commandId) : undefined) ?? ''
    edges.push({ id: `caused:${edge.from}>${edge.to}`, kind: 'caused', source: edge.from, target: edge.to, sourcePort: 'out', targetPort: 'in', label })
  }
  return { nodes, edges, hidden }
}
