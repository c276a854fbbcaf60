import { app, BrowserWindow, Menu, dialog, net, protocol, safeStorage, screen, shell, session } from 'electron'
import { existsSync } from 'node:fs'
import { join, normalize, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import { APP_NAME, APP_VERSION } from '../app-info'
import { contentSecurityPolicy } from '../security/csp'
import { openWorkbench, type Workbench } from '../services'
import { defaultWorkspaceDir, workbenchHome } from '../workspace/location'
import { APP_ID, DOCUMENTATION_URL, EXECUTABLE_NAME } from './app-identity'
import { DesktopActions, type DesktopDialogs } from './desktop-actions'
import { KeychainCredentials } from './keychain'
import { serveWindow } from './ipc'
import { closeDecision, crashPrompt, taskbarProgress } from './job-signals'
import { menuTemplate } from './menu'
import { openRequests, optionValue, pathFromFileUrl, pathsFromArgv, type OpenRequest } from './open-request'
import { appUrlCheck } from './sender-check'
import { MIN_SIZE, fitToScreens, loadDesktopState, saveDesktopState, type DesktopState } from './window-state'
import { secureWebPreferences } from './web-preferences'

// The renderer is served from a privileged custom scheme rather than file://, so its origin is fixed and checkable.
const APP_SCHEME = 'app'
const APP_ORIGIN = `${APP_SCHEME}://workbench`
const devServer = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined
const rendererDir = join(__dirname, '..', 'renderer')
const isAppUrl = appUrlCheck(APP_ORIGIN, devServer)

// A workbench home set from outside (tests, a second profile) gets its own Electron profile and instance lock too.
if (process.env.ESW_HOME) app.setPath('userData', join(process.env.ESW_HOME, 'electron'))

const launchPaths = pathsFromArgv(process.argv, { defaultApp: Boolean(process.defaultApp), cwd: process.cwd() })

// One running app: a second launch hands its paths to the first and quits (the argv it would see may be reordered).
if (!app.requestSingleInstanceLock({ paths: launchPaths })) {
  app.quit()
} else {
  start()
}

function start() {
  const stateFile = join(workbenchHome(), 'desktop.json')
  const desktop: DesktopState = loadDesktopState(stateFile)
  let workbench: Workbench | null = null
  let actions: DesktopActions | null = null
  let mainWindow: BrowserWindow | null = null
  /** Paths that arrived before the window could act on them (macOS opens files before `ready`). */
  const pending: OpenRequest[] = []
  let quitting = false
  let engineClosed = false

  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }])
  if (process.platform === 'win32') app.setAppUserModelId(APP_ID)
  if (process.platform === 'linux') app.setDesktopName(`${EXECUTABLE_NAME}.desktop`)

  const saveState = () => {
    try {
      saveDesktopState(stateFile, desktop)
    } catch (error) {
      console.warn(`[desktop] could not save the window state: ${String(error)}`)
    }
  }

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

  const handle = (requests: OpenRequest[]) => {
    if (!requests.length) return
    if (!actions || !mainWindow) {
      pending.push(...requests)
      return
    }
    void actions.handle(requests)
  }

  const showPanel = (panel: string) => {
    void mainWindow?.webContents.executeJavaScript(`location.hash = ${JSON.stringify('#/' + panel)}`).catch(() => {})
  }

  const dialogs: DesktopDialogs = {
    chooseNewWorkspaceFolder: async () => {
      const r = await dialog.showSaveDialog(mainWindow!, {
        title: 'New Workspace',
        buttonLabel: 'Create Workspace',
        nameFieldLabel: 'Workspace folder',
        defaultPath: join(app.getPath('documents'), 'My workspace'),
        properties: ['createDirectory', 'showOverwriteConfirmation']
      })
      return r.canceled || !r.filePath ? null : r.filePath
    },
    chooseWorkspaceFolder: async () => {
      const r = await dialog.showOpenDialog(mainWindow!, { title: 'Open Workspace', buttonLabel: 'Open', properties: ['openDirectory', 'createDirectory'] })
      return r.canceled ? null : r.filePaths[0] ?? null
    },
    chooseEventLog: async () => {
      const r = await dialog.showOpenDialog(mainWindow!, {
        title: 'Import Events',
        buttonLabel: 'Import',
        properties: ['openFile'],
        filters: [
          { name: 'Event logs (NDJSON)', extensions: ['ndjson', 'jsonl'] },
          { name: 'All files', extensions: ['*'] }
        ]
      })
      return r.canceled ? null : r.filePaths[0] ?? null
    },
    chooseExportFile: async (defaultName) => {
      const r = await dialog.showSaveDialog(mainWindow!, {
        title: 'Export Events',
        buttonLabel: 'Export',
        defaultPath: join(app.getPath('documents'), defaultName),
        filters: [{ name: 'Event logs (NDJSON)', extensions: ['ndjson'] }],
        properties: ['createDirectory', 'showOverwriteConfirmation']
      })
      return r.canceled || !r.filePath ? null : r.filePath
    },
    ask: async (q) => (await dialog.showMessageBox(mainWindow!, { type: q.type ?? 'question', message: q.message, detail: q.detail, buttons: q.buttons, cancelId: q.cancelId, defaultId: q.buttons.length - 1, noLink: true })).response,
    tell: async (n) => (await dialog.showMessageBox(mainWindow!, { type: n.type, message: n.message, detail: n.detail, buttons: n.buttons ?? ['OK'], defaultId: 0, noLink: true })).response
  }

  function installMenu() {
    if (!workbench || !actions) return
    const a = actions
    const template = menuTemplate({
      platform: process.platform,
      development: !app.isPackaged,
      recent: workbench.implementation.workspace.recent(undefined, { connectionId: 'desktop' }) as Array<{ path: string; name: string }>,
      workspaceName: workbench.workspace().config.name,
      actions: {
        newWorkspace: () => void a.newWorkspace(),
        openWorkspace: () => void a.openWorkspace(),
        openRecent: (path) => void a.openWorkspaceDir(path),
        importEvents: () => void a.importEvents(),
        exportEvents: () => void a.exportEvents(),
        closeWorkspace: () => void a.closeWorkspace(),
        openPanel: showPanel,
        reload: () => mainWindow?.webContents.reload(),
        toggleDevTools: () => mainWindow?.webContents.toggleDevTools(),
        showAbout: () =>
          void dialog.showMessageBox({
            title: `About ${APP_NAME}`,
            message: `${APP_NAME} ${APP_VERSION}`,
            detail: `Electron ${process.versions.electron} · Chromium ${process.versions.chrome} · Node.js ${process.versions.node}`,
            buttons: ['OK']
          }),
        openDocumentation: () => void shell.openExternal(DOCUMENTATION_URL)
      }
    })
    Menu.setApplicationMenu(Menu.buildFromTemplate(template))
  }

  function createWindow(wb: Workbench): BrowserWindow {
    const workAreas = [screen.getPrimaryDisplay(), ...screen.getAllDisplays().filter((d) => d.id !== screen.getPrimaryDisplay().id)].map((d) => d.workArea)
    const bounds = fitToScreens(desktop.window.bounds, workAreas)
    const icon = join(app.getAppPath(), 'build', 'icons', '512x512.png')
    const window = new BrowserWindow({
      ...bounds,
      minWidth: MIN_SIZE.width,
      minHeight: MIN_SIZE.height,
      title: APP_NAME,
      show: false,
      ...(process.platform === 'linux' && existsSync(icon) ? { icon } : {}),
      webPreferences: secureWebPreferences(join(__dirname, '..', 'preload', 'index.js'))
    })
    if (desktop.window.maximized) window.maximize()
    if (desktop.window.fullScreen) window.setFullScreen(true)
    window.once('ready-to-show', () => window.show())

    const remember = () => {
      if (window.isDestroyed()) return
      desktop.window = { bounds: window.getNormalBounds(), maximized: window.isMaximized(), fullScreen: window.isFullScreen() }
    }
    let saveTimer: NodeJS.Timeout | null = null
    const rememberSoon = () => {
      if (saveTimer) clearTimeout(saveTimer)
      saveTimer = setTimeout(() => {
        remember()
        saveState()
      }, 500)
    }
    for (const event of ['resize', 'move', 'maximize', 'unmaximize', 'enter-full-screen', 'leave-full-screen']) {
      ;(window as unknown as NodeJS.EventEmitter).on(event, rememberSoon)
    }

    // No navigation away from the app. A file or folder dropped on the window navigates to its file: URL: open it instead.
    window.webContents.on('will-navigate', (event) => {
      if (isAppUrl(event.url)) return
      event.preventDefault()
      const dropped = pathFromFileUrl(event.url)
      if (dropped) handle(openRequests([dropped]))
    })
    window.webContents.setWindowOpenHandler(({ url }) => {
      if (url.startsWith('https://')) void shell.openExternal(url)
      return { action: 'deny' }
    })
    window.webContents.on('will-attach-webview', (event) => event.preventDefault())

    // A crashed page is offered a reload; the engine runs in this process and is not touched by it.
    let reloadAfterHang = false
    window.webContents.on('render-process-gone', (_event, details) => {
      if (reloadAfterHang && !window.isDestroyed()) {
        reloadAfterHang = false
        window.webContents.reload()
        return
      }
      const prompt = crashPrompt(details)
      if (!prompt || window.isDestroyed()) return
      void dialog
        .showMessageBox(window, { type: 'error', message: prompt.message, detail: prompt.detail, buttons: prompt.buttons, defaultId: 0, cancelId: 1, noLink: true })
        .then(({ response }) => {
          if (window.isDestroyed()) return
          if (response === 0) window.webContents.reload()
          else window.close()
        })
    })
    window.on('unresponsive', () => {
      void dialog
        .showMessageBox(window, {
          type: 'warning',
          message: 'The workbench window is not responding.',
          detail: 'The engine is still running. Wait for the window, or reload it (the page is rebuilt; nothing saved is lost).',
          buttons: ['Wait', 'Reload'],
          defaultId: 0,
          cancelId: 0,
          noLink: true
        })
        .then(({ response }) => {
          if (response !== 1 || window.isDestroyed()) return
          // A hung page cannot be reloaded in place: end its process, then load it again (above).
          reloadAfterHang = true
          window.webContents.forcefullyCrashRenderer()
        })
    })

    // Closing during a job asks first; the answer decides for a quit in progress too.
    let closeConfirmed = false
    window.on('close', (event) => {
      remember()
      saveState()
      if (closeConfirmed) return
      const decision = closeDecision(wb.jobs.list())
      if (decision.kind === 'close') return
      event.preventDefault()
      const wasQuitting = quitting
      quitting = false
      void dialog
        .showMessageBox(window, { type: 'warning', message: decision.message, detail: decision.detail, buttons: decision.buttons, defaultId: 0, cancelId: 0, noLink: true })
        .then(({ response }) => {
          if (response !== 1 || window.isDestroyed()) return
          for (const id of decision.jobIds) {
            try {
              wb.jobs.cancel(id)
            } catch {
              // It ended while the question was open.
            }
          }
          closeConfirmed = true
          if (wasQuitting) app.quit()
          else window.close()
        })
    })

    serveWindow(window.webContents, wb, isAppUrl)
    void window.loadURL(devServer ?? `${APP_ORIGIN}/index.html`)
    return window
  }

  const showWindow = () => {
    if (!mainWindow || mainWindow.isDestroyed()) {
      if (workbench) mainWindow = createWindow(workbench)
      return
    }
    if (mainWindow.isMinimized()) mainWindow.restore()
    mainWindow.show()
    mainWindow.focus()
  }

  app.on('second-instance', (_event, argv, workingDirectory, additionalData) => {
    const given = (additionalData as { paths?: unknown } | null)?.paths
    const paths = Array.isArray(given) && given.every((p) => typeof p === 'string') ? (given as string[]) : pathsFromArgv(argv, { defaultApp: Boolean(process.defaultApp), cwd: workingDirectory })
    showWindow()
    handle(openRequests(paths))
  })

  // macOS hands over files (a double-clicked .ndjson, a folder dropped on the dock icon) with this event, even before `ready`.
  app.on('open-file', (event, path) => {
    event.preventDefault()
    handle(openRequests([path]))
  })

  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event) => {
      if (!isAppUrl(event.url)) event.preventDefault()
    })
    contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  })

  app.on('before-quit', () => {
    quitting = true
  })

  app
    .whenReady()
    .then(async () => {
      // Refuse every permission request (camera, notifications ...): the workbench needs none.
      session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
      session.defaultSession.setPermissionCheckHandler(() => false)
      serveRenderer()

      // A workspace given on the command line comes first; then the one open last time; then the demo shop.
      const requests = openRequests(launchPaths)
      const launchWorkspace = requests.find((r): r is Extract<OpenRequest, { kind: 'workspace' }> => r.kind === 'workspace')
      const startDir = [launchWorkspace?.dir, desktop.lastWorkspace].find((dir) => dir && existsSync(join(dir, 'workbench.json'))) ?? null
      const demoEvents = Number(optionValue(process.argv, '--demo-events'))
      workbench = await openWorkbench({
        host: 'electron',
        workspaceDir: startDir === defaultWorkspaceDir() ? null : startDir,
        // PostgreSQL passwords: the OS keychain through safeStorage, in a file of the app's data (never in a workspace).
        credentials: new KeychainCredentials(join(app.getPath('userData'), 'credentials.json'), safeStorage),
        ...(Number.isInteger(demoEvents) && demoEvents > 0 ? { demoEvents } : {})
      })
      const wb = workbench
      actions = new DesktopActions(wb, dialogs, { showPanel, revealFile: (path) => shell.showItemInFolder(path) })

      desktop.lastWorkspace = wb.workspace().dir
      saveState()
      wb.events.on('workspace', 'changed', (state) => {
        if (state.path === desktop.lastWorkspace) return
        desktop.lastWorkspace = state.path
        saveState()
        installMenu()
      })
      wb.events.on('jobs', 'updated', () => {
        if (!mainWindow || mainWindow.isDestroyed()) return
        const progress = taskbarProgress(wb.jobs.list())
        mainWindow.setProgressBar(progress.value, { mode: progress.mode })
      })

      installMenu()
      mainWindow = createWindow(wb)
      // What the launch asked for beyond the workspace it started with (an event log to import, a folder to confirm).
      const rest = requests.filter((r) => !(r.kind === 'workspace' && r.dir === wb.workspace().dir))
      mainWindow.webContents.once('did-finish-load', () => handle([...rest, ...pending.splice(0)]))
      app.on('activate', () => showWindow())
    })
    .catch((error: unknown) => {
      dialog.showErrorBox(APP_NAME, `The workbench could not start: ${error instanceof Error ? error.message : String(error)}`)
      app.exit(1)
    })

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })

  // The engine closes its workspace (jobs ended, database checkpointed) before the process goes.
  app.on('will-quit', (event) => {
    if (engineClosed || !workbench) return
    event.preventDefault()
    const closing = workbench.close().catch((error: unknown) => console.error('[desktop] closing the workbench:', error))
    const timeout = new Promise((resolve) => setTimeout(resolve, 10_000))
    void Promise.race([closing, timeout]).finally(() => {
      engineClosed = true
      app.quit()
    })
  })
}
