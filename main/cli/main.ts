import { APP_NAME, APP_VERSION } from '../app-info'

const usage = `${APP_NAME} ${APP_VERSION} — command line

Usage: esw <command> [options]

Commands:
  --help, help     Show this help
  --version        Print the version
`

// The `esw` command line over the same services the app uses. It grows with the engine.
function main(argv: string[]): number {
  const [command] = argv
  if (command === undefined || command === '--help' || command === 'help' || command === '-h') {
    process.stdout.write(usage)
    return 0
  }
  if (command === '--version') {
    process.stdout.write(`${APP_VERSION}\n`)
    return 0
  }
  process.stderr.write(`esw: unknown command '${command}'. Run \`esw --help\` for the list.\n`)
  return 2
}

process.exitCode = main(process.argv.slice(2))
