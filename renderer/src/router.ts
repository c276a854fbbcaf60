import { createRouter, createWebHashHistory } from 'vue-router'
import { panels } from './panels'

const views = {
  streams: () => import('./views/streams/StreamsView.vue'),
  commands: () => import('./views/commands/CommandsView.vue'),
  domain: () => import('./views/domain/DomainView.vue'),
  replay: () => import('./views/replay/ReplayView.vue'),
  projections: () => import('./views/projections/ProjectionsView.vue'),
  'read-models': () => import('./views/read-models/ReadModelsView.vue'),
  upcasters: () => import('./views/upcasters/UpcastersView.vue'),
  sagas: () => import('./views/sagas/SagasView.vue'),
  workspace: () => import('./views/workspace/WorkspaceView.vue')
} as const

export const router = createRouter({
  // Hash history works the same under the app:// scheme and the browser host.
  history: createWebHashHistory(),
  routes: [
    { path: '/', redirect: '/streams' },
    ...panels.map((p) => ({ path: `/${p.id}`, name: p.id, component: views[p.id], meta: { title: p.label } }))
  ]
})
