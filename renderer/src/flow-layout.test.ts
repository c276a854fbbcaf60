import { describe, expect, it } from 'vitest'
import { layoutGraph } from './flow-layout'
import { definitionGraph, stepNodeId, undoNodeId, START, COMPLETED } from './saga-graph'
import { sagaDescriptor } from './stores/fake-client'

describe('laying out a graph with ELK', () => {
  it('puts a saga’s steps in one row, left to right, and its compensations in a lane under their steps', async () => {
    const graph = definitionGraph(sagaDescriptor())
    const { positions, width, height } = await layoutGraph(graph.nodes, graph.edges, 'lanes')
    const at = (id: string) => positions[id]
    const row = [START, stepNodeId('reserve-stock'), stepNodeId('charge-payment'), stepNodeId('create-shipment'), COMPLETED]
    for (let i = 1; i < row.length; i++) expect(at(row[i]).x).toBeGreaterThan(at(row[i - 1]).x)
    const steps = row.slice(1, 4).map((id) => at(id).y)
    expect(new Set(steps).size).toBe(1)
    expect(at(undoNodeId('charge-payment')).y).toBeGreaterThan(steps[0])
    expect(at(undoNodeId('charge-payment')).x).toBe(at(stepNodeId('charge-payment')).x)
    expect(width).toBeGreaterThan(at(COMPLETED).x)
    expect(height).toBeGreaterThan(at(undoNodeId('charge-payment')).y)
  })

  it('lays causes above what they caused, and leaves out edges to nodes that are not drawn', async () => {
    const node = (id: string) => ({ id, width: 100, height: 40 })
    const { positions } = await layoutGraph(
      [node('a'), node('b'), node('c')],
      [
        { id: 'a>b', source: 'a', target: 'b' },
        { id: 'b>c', source: 'b', target: 'c', sourcePort: 'out', targetPort: 'in' },
        { id: 'a>gone', source: 'a', target: 'gone' }
      ],
      'layers'
    )
    expect(positions.a.y).toBeLessThan(positions.b.y)
    expect(positions.b.y).toBeLessThan(positions.c.y)
    expect(positions.gone).toBeUndefined()
  })
})
