/** The panels of the workbench, in sidebar order. */
export const panels = [
  { id: 'streams', label: 'Streams', icon: '☰', hint: 'Browse streams and events' },
  { id: 'commands', label: 'Commands', icon: '▶', hint: 'Send commands through deciders' },
  { id: 'domain', label: 'Domain code', icon: 'ƒ', hint: 'Edit the deciders in domain/*.ts' },
  { id: 'replay', label: 'Replay', icon: '⟲', hint: 'Rehydrate and time-travel aggregates' },
  { id: 'projections', label: 'Projections', icon: '⇶', hint: 'Projection code and status' },
  { id: 'read-models', label: 'Read models', icon: '▦', hint: 'Read-model tables and queries' },
  { id: 'upcasters', label: 'Upcasters', icon: '⇡', hint: 'Event versions and upcasters' },
  { id: 'sagas', label: 'Sagas', icon: '⤳', hint: 'Saga flows and instances' },
  { id: 'workspace', label: 'Workspace', icon: '⌂', hint: 'The open workspace' }
] as const

export type PanelId = (typeof panels)[number]['id']
