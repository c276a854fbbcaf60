import { describe, expect, it } from 'vitest'
import { secureWebPreferences } from './web-preferences'

describe('window settings', () => {
  it('keep context isolation and the sandbox on and Node out of the page', () => {
    expect(secureWebPreferences('/p.js')).toMatchObject({
      preload: '/p.js',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      webviewTag: false
    })
  })
})
