import { describe, expect, it } from 'vitest'
import type { CausationGraph } from '../../shared/contract'
import { causationPicture, COMPENSATED, COMPLETED, commandNames, definitionGraph, instanceOverlay, PARKED, START, stepNodeId, undoNodeId, visitedNodes } from './saga-graph'
import { recordedEvent, sagaDescriptor, sagaEvent, sagaInstance } from './stores/fake-client'

const saga = sagaDescriptor()
const target = (graph: ReturnType<typeof definitionGraph>, kind: string, source: string) => graph.edges.find((e) => e.kind === kind && e.source === source)?.target

describe('a saga as a flow graph', () => {
  const graph = definitionGraph(saga)

  it('puts the steps in a row between the trigger and completion, joined by their success events', () => {
    const steps = graph.nodes.filter((n) => n.kind === 'step')
    expect(steps.map((n) => [n.id, n.partition])).toEqual([
      ['step:reserve-stock', 1],
      ['step:charge-payment', 2],
      ['step:create-shipment', 3]
    ])
    expect(target(graph, 'success', START)).toBe(stepNodeId('reserve-stock'))
    expect(target(graph, 'success', stepNodeId('charge-payment'))).toBe(stepNodeId('create-shipment'))
    expect(target(graph, 'success', stepNodeId('create-shipment'))).toBe(COMPLETED)
    expect(graph.edges.find((e) => e.source === stepNodeId('reserve-stock') && e.kind === 'success')?.label).toBe('StockReserved')
  })

  it('sends a failure to the compensation of the step before it, and a failing first step to compensated', () => {
    expect(target(graph, 'failure', stepNodeId('reserve-stock'))).toBe(COMPENSATED)
    expect(target(graph, 'failure', stepNodeId('charge-payment'))).toBe(undoNodeId('reserve-stock'))
    expect(target(graph, 'failure', stepNodeId('create-shipment'))).toBe(undoNodeId('charge-payment'))
  })

  it('runs the compensations backwards to compensated, each one parking the instance when refused', () => {
    expect(graph.nodes.some((n) => n.id === undoNodeId('create-shipment'))).toBe(false)
    expect(target(graph, 'compensation', undoNodeId('charge-payment'))).toBe(undoNodeId('reserve-stock'))
    expect(target(graph, 'compensation', undoNodeId('reserve-stock'))).toBe(COMPENSATED)
    expect(target(graph, 'park', undoNodeId('charge-payment'))).toBe(PARKED)
    // The lane lies under the steps: each compensation stands in its step's column.
    expect(graph.nodes.find((n) => n.id === undoNodeId('charge-payment'))?.partition).toBe(2)
  })

  it('parks a failure that meets the point of no return on its way back, and skips a step without compensation', () => {
    const s = sagaDescriptor()
    s.steps[0] = { ...s.steps[0], pointOfNoReturn: true, hasCompensation: false }
    s.steps[1] = { ...s.steps[1], hasCompensation: false }
    const g = definitionGraph(s)
    expect(target(g, 'failure', stepNodeId('charge-payment'))).toBe(PARKED)
    expect(target(g, 'failure', stepNodeId('create-shipment'))).toBe(PARKED)
  })

  it('marks the point of no return and puts a definition problem on its step', () => {
    const g = definitionGraph(saga, [{ saga: 'order_fulfilment', step: 'charge-payment', file: saga.file, message: 'no compensation' }])
    expect(g.nodes.find((n) => n.id === stepNodeId('create-shipment'))?.pointOfNoReturn).toBe(true)
    expect(g.nodes.find((n) => n.id === stepNodeId('charge-payment'))?.problem).toBe('no compensation')
    expect(g.nodes.find((n) => n.id === stepNodeId('reserve-stock'))?.problem).toBeNull()
  })
})

describe('one instance on the graph', () => {
  const graph = definitionGraph(saga)
  // charge-payment rejected twice (the retry too), reserve-stock released.
  const timeline = [
    sagaEvent(1, 'SagaStarted', { start: { position: 0, streamId: 'order-o-1', type: 'OrderPlaced' } }),
    sagaEvent(2, 'SagaStepSent', { step: 'reserve-stock', attempt: 1 }),
    sagaEvent(4, 'SagaStepCompleted', { step: 'reserve-stock' }),
    sagaEvent(5, 'SagaStepSent', { step: 'charge-payment', attempt: 1 }),
    sagaEvent(6, 'SagaStepFailed', { step: 'charge-payment', attempt: 1, retryAt: 99 }),
    sagaEvent(7, 'SagaStepSent', { step: 'charge-payment', attempt: 2 }),
    sagaEvent(8, 'SagaStepFailed', { step: 'charge-payment', attempt: 2, retryAt: null }),
    sagaEvent(9, 'SagaCompensationSent', { step: 'reserve-stock' }),
    sagaEvent(11, 'SagaStepCompensated', { step: 'reserve-stock' }),
    sagaEvent(12, 'SagaAborted', { reason: 'charge-payment: rejected' })
  ]
  const compensated = sagaInstance('o-1', {
    status: 'compensated',
    current: null,
    steps: { 'reserve-stock': { state: 'compensated', attempts: 1 }, 'charge-payment': { state: 'failed', attempts: 2 }, 'create-shipment': { state: 'pending', attempts: 0 } }
  })

  it('follows the nodes the saga stream went through, a retry counting once', () => {
    expect(visitedNodes(timeline)).toEqual([START, stepNodeId('reserve-stock'), stepNodeId('charge-payment'), undoNodeId('reserve-stock'), COMPENSATED])
  })

  it('colours the steps, the compensation and the end, and highlights the edges taken', () => {
    const overlay = instanceOverlay(graph, compensated, timeline)
    expect(overlay.nodes[stepNodeId('reserve-stock')]).toBe('compensated')
    expect(overlay.nodes[undoNodeId('reserve-stock')]).toBe('compensated')
    expect(overlay.nodes[stepNodeId('charge-payment')]).toBe('failed')
    expect(overlay.nodes[stepNodeId('create-shipment')]).toBe('pending')
    expect(overlay.nodes[COMPENSATED]).toBe('reached')
    expect(overlay.nodes[COMPLETED]).toBeUndefined()
    expect([...overlay.edges].sort()).toEqual(
      [
        `success:${START}>${stepNodeId('reserve-stock')}`,
        `success:${stepNodeId('reserve-stock')}>${stepNodeId('charge-payment')}`,
        `failure:${stepNodeId('charge-payment')}>${undoNodeId('reserve-stock')}`,
        `compensation:${undoNodeId('reserve-stock')}>${COMPENSATED}`
      ].sort()
    )
    expect(overlay.current).toBeNull()
  })

  it('points at the step in progress, and at a compensation refused when parked', () => {
    const running = instanceOverlay(graph, sagaInstance('o-1', { current: 'charge-payment' }), timeline.slice(0, 5))
    expect(running.current).toBe(stepNodeId('charge-payment'))
    const parked = instanceOverlay(
      graph,
      sagaInstance('o-1', { status: 'parked', current: 'reserve-stock', steps: { 'reserve-stock': { state: 'compensating', attempts: 1 }, 'charge-payment': { state: 'failed', attempts: 2 } } }),
      [...timeline.slice(0, 8), sagaEvent(10, 'SagaParked', { step: 'reserve-stock', reason: 'refused' })]
    )
    expect(parked.nodes[undoNodeId('reserve-stock')]).toBe('refused')
    expect(parked.nodes[PARKED]).toBe('reached')
    expect(parked.edges.has(`park:${undoNodeId('reserve-stock')}>${PARKED}`)).toBe(true)
    expect(parked.current).toBeNull()
  })
})

describe('a correlation id as a picture', () => {
  const placed = recordedEvent(10, { id: 'placed', streamId: 'order-o-1', type: 'OrderPlaced' })
  const started = recordedEvent(11, { id: 'started', streamId: 'saga-order_fulfilment-o-1', type: 'SagaStarted' })
  const sent = recordedEvent(12, { id: 'sent', streamId: 'saga-order_fulfilment-o-1', type: 'SagaStepSent', data: { step: 'reserve-stock', commandIds: ['c-1'], commands: ['inventory.ReserveStock'] } })
  const reserved = recordedEvent(13, { id: 'reserved', streamId: 'inventory-tea', type: 'StockReserved' })
  const completed = recordedEvent(14, { id: 'completed', streamId: 'saga-order_fulfilment-o-1', type: 'SagaStepCompleted' })
  const graph: CausationGraph = {
    correlationId: 'corr-o-1',
    nodes: [completed, reserved, sent, started, placed].map((event) => ({ id: event.id, event })),
    edges: [
      { from: 'placed', to: 'started', command: null, commandId: null },
      { from: 'placed', to: 'sent', command: null, commandId: null },
      { from: 'sent', to: 'reserved', command: null, commandId: 'c-1' },
      { from: 'placed', to: 'completed', command: null, commandId: null }
    ],
    truncated: false
  }

  it('names commands by the ids the saga sent them under', () => {
    expect(commandNames([sent])).toEqual(new Map([['c-1', 'inventory.ReserveStock']]))
  })

  it('draws each cause once per run of a stream, the stream leading on, with the command on the arrow', () => {
    const picture = causationPicture(graph)
    expect(picture.nodes.map((n) => n.event.position)).toEqual([10, 11, 12, 13, 14])
    const caused = picture.edges.filter((e) => e.kind === 'caused').map((e) => `${e.source}>${e.target}:${e.label}`)
    expect(caused).toEqual(['placed>started:', 'sent>reserved:inventory.ReserveStock'])
    expect(picture.hidden).toBe(2)
    expect(picture.edges.filter((e) => e.kind === 'stream').map((e) => `${e.source}>${e.target}`)).toEqual(['started>sent', 'sent>completed'])
    expect(picture.nodes.find((n) => n.id === 'reserved')?.category).toBe('inventory')
  })
})
