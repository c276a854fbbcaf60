import { app, BrowserWindow, Menu, dialog, net, protocol, shell, session } from 'electron'
import { join, normalize, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import { APP_NAME, APP_VERSION } from '../app-info'
import { contentSecurityPolicy } from '../security/csp'
import { openWorkbench, type Workbench } from '../services'
import { bindWindow } from './ipc'
import { menuTemplate } from './menu'
import { secureWebPreferences } from './web-preferences'

// The renderer is served from a privileged custom scheme rather than file://, so its origin is fixed and checkable.
const APP_SCHEME = 'app'
const APP_ORIGIN = `${APP_SCHEME}://workbench`
const devServer = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined
const rendererDir = join(__dirname, '..', 'renderer')

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }])

const isAppUrl = (url: string) => url.startsWith(`${APP_ORIGIN}/`) || (devServer !== undefined && url.startsWith(devServer))

let workbench: Workbench | null = null
let mainWindow: BrowserWindow | null = null

function serveRenderer() {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url)
    if (url.host !== 'workbench') return new Response('Not found', { status: 404 })
    const relative = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1))
    const file = normalize(join(rendererDir, relative))
    if (!file.startsWith(normalize(rendererDir) + sep)) return new Response('Forbidden', { status: 403 })
    const response = await net.fetch(pathToFileURL(file).toString())
    const headers = new Headers(response.headers)
    if (file.endsWith('.html')) headers.set('Content-Security-Policy', contentSecurityPolicy())
    headers.set('X-Content-Type-Options', 'nosniff')
    return new Response(response.body, { status: response.status, headers })
  })
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1400,
    height: 900,
    title: APP_NAME,
    show: false,
    webPreferences: secureWebPreferences(join(__dirname, '..', 'preload', 'index.js'))
  })
  window.once('ready-to-show', () => window.show())
  // No navigation away from the app and no new windows; links open in the system browser.
  window.webContents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault()
  })
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url)
    return { action: 'deny' }
  })
  window.webContents.on('will-attach-webview', (event) => event.preventDefault())
  if (workbench) bindWindow(window.webContents, workbench, isAppUrl)
  void window.loadURL(devServer ?? `${APP_ORIGIN}/index.html`)
  return window
}

function installMenu() {
  const send = (panel: string) => mainWindow?.webContents.executeJavaScript(`location.hash = ${JSON.stringify('#/' + panel)}`)
  const template = menuTemplate({
    platform: process.platform,
    development: !app.isPackaged,
    actions: {
      openPanel: (panel) => void send(panel),
      reload: () => mainWindow?.webContents.reload(),
      toggleDevTools: () => mainWindow?.webContents.toggleDevTools(),
      showAbout: () => void dialog.showMessageBox({ title: APP_NAME, message: `${APP_NAME} ${APP_VERSION}` }),
      openDocumentation: () => void shell.openExternal('https://www.npmjs.com/package/event-workbench')
    }
  })
  Menu.setApplicationMenu(Menu.buildFromTemplate(template))
}

app.on('web-contents-created', (_event, contents) => {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault()
  })
  contents.setWindowOpenHandler(() => ({ action: 'deny' }))
})

app.whenReady().then(async () => {
  // Refuse every permission request (camera, notifications ...): the workbench needs none.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  serveRenderer()
  workbench = await openWorkbench({ host: 'electron', workspaceDir: null })
  installMenu()
  mainWindow = createWindow()
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) mainWindow = createWindow()
  })
}).catch((error: unknown) => {
  dialog.showErrorBox(APP_NAME, `The workbench could not start: ${error instanceof Error ? error.message : String(error)}`)
  app.exit(1)
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})

app.on('will-quit', () => {
  void workbench?.close()
})
