/// <reference types="vite/client" />

declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}

interface EswBridge {
  send(message: string): void
  onMessage(listener: (message: string) => void): () => void
}

interface Window {
  eswBridge?: EswBridge
}
