import ELK from 'elkjs/lib/elk.bundled.js'
import type { ElkNode, LayoutOptions } from 'elkjs/lib/elk.bundled.js'

export type PortSide = 'NORTH' | 'EAST' | 'SOUTH' | 'WEST'

export interface LayoutNode {
  id: string
  width: number
  height: number
  /** Lanes: the column the node must stand in (left to right). */
  partition?: number
  /** Where the node's edges attach: `<node>:<port>` ids on fixed sides, so rows stay straight. */
  ports?: Array<{ id: string; side: PortSide }>
}

export interface LayoutEdge {
  id: string
  source: string
  target: string
  sourcePort?: string
  targetPort?: string
}

/**
 * `lanes`: left to right in the given columns, the first nodes of a column on top (a saga's steps in a row, their
 * compensations in a lane under them). `layers`: top to bottom by causation (a correlation id's events).
 */
export type LayoutKind = 'lanes' | 'layers'

export interface Layout {
  positions: Record<string, { x: number; y: number }>
  width: number
  height: number
}

const options: Record<LayoutKind, LayoutOptions> = {
  lanes: {
    'elk.algorithm': 'layered',
    'elk.direction': 'RIGHT',
    'elk.partitioning.activate': 'true',
    'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
    'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
    'elk.edgeRouting': 'ORTHOGONAL',
    'elk.spacing.nodeNode': '52',
    'elk.layered.spacing.nodeNodeBetweenLayers': '56',
    'elk.padding': '[top=0,left=0,bottom=0,right=0]'
  },
  layers: {
    'elk.algorithm': 'layered',
    'elk.direction': 'DOWN',
    'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
    'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
    'elk.edgeRouting': 'ORTHOGONAL',
    'elk.spacing.nodeNode': '28',
    'elk.layered.spacing.nodeNodeBetweenLayers': '44',
    'elk.padding': '[top=0,left=0,bottom=0,right=0]'
  }
}

// The bundled build runs the layout in this thread (no worker script to load, nothing the page's CSP refuses).
let elk: InstanceType<typeof ELK> | null = null

/** Positions of the nodes (top-left corners), laid out by ELK's layered algorithm, and the size of the whole. */
export async function layoutGraph(nodes: LayoutNode[], edges: LayoutEdge[], kind: LayoutKind): Promise<Layout> {
  elk ??= new ELK()
  const ids = new Set(nodes.map((n) => n.id))
  const ports = new Set(nodes.flatMap((n) => (n.ports ?? []).map((p) => `${n.id}:${p.id}`)))
  const end = (node: string, port: string | undefined) => (port && ports.has(`${node}:${port}`) ? `${node}:${port}` : node)
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: options[kind],
    children: nodes.map((n) => ({
      id: n.id,
      width: n.width,
      height: n.height,
      layoutOptions: {
        ...(n.partition !== undefined ? { 'elk.partitioning.partition': String(n.partition) } : {}),
        ...(n.ports?.length ? { 'elk.portConstraints': 'FIXED_SIDE' } : {})
      },
      ports: (n.ports ?? []).map((p) => ({ id: `${n.id}:${p.id}`, width: 1, height: 1, layoutOptions: { 'elk.port.side': p.side } }))
    })),
    // An edge to a node that is not drawn would make ELK throw: it is left out.
    edges: edges
      .filter((e) => ids.has(e.source) && ids.has(e.target))
      .map((e) => ({ id: e.id, sources: [end(e.source, e.sourcePort)], targets: [end(e.target, e.targetPort)] }))
  }
  const out = await elk.layout(graph)
  const positions: Layout['positions'] = {}
  let width = 0
  let height = 0
  for (const c of out.children ?? []) {
    const x = c.x ?? 0
    const y = c.y ?? 0
    positions[c.id] = { x, y }
    width = Math.max(width, x + (c.width ?? 0))
    height = Math.max(height, y + (c.height ?? 0))
  }
  return { positions, width, height }
}
