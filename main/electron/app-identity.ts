/** The app's id: Windows' AppUserModelID (taskbar progress and grouping), macOS's bundle id, electron-builder's appId. */
export const APP_ID = 'dev.eventworkbench.desktop'

/** The executable and the Linux .desktop file are named after this (electron-builder's executableName). */
export const EXECUTABLE_NAME = 'event-workbench'

/** Where Help › Documentation leads. */
export const DOCUMENTATION_URL = 'https://www.npmjs.com/package/event-workbench'
