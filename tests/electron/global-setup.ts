import { electron } from './electron-binary'

export default function globalSetup() {
  if (!electron.path) {
    console.log(`\nELECTRON SUITE NOT RUN: ${electron.reason}.`)
    console.log('These tests were skipped, not passed. They run on a machine where the Electron binary is installed.\n')
  }
}
