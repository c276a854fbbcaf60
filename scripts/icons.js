// Renders build/icon.svg into the app's icons: PNGs per size (Linux, the window), icon.ico (Windows) and
// icon.icns (macOS). Both container formats hold PNG images, written here directly. Run after editing the SVG:
//   node scripts/icons.js            writes the icons
//   node scripts/icons.js --check    fails when the committed icons differ from what the SVG gives
const { Resvg } = require('@resvg/resvg-js')
const { mkdirSync, readFileSync, writeFileSync, existsSync } = require('node:fs')
const { join } = require('node:path')

const buildDir = join(__dirname, '..', 'build')
const PNG_SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024]
const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256]
// ICNS element types that hold PNG data, with their pixel sizes (the @2x types reuse the larger renders).
const ICNS_TYPES = [
  ['icp4', 16],
  ['icp5', 32],
  ['icp6', 64],
  ['ic07', 128],
  ['ic08', 256],
  ['ic09', 512],
  ['ic10', 1024],
  ['ic11', 32],
  ['ic12', 64],
  ['ic13', 256],
  ['ic14', 512]
]

function render(svg, size) {
  return Buffer.from(new Resvg(svg, { fitTo: { mode: 'width', value: size } }).render().asPng())
}

/** An ICO file: a directory of entries, each pointing at a PNG image (Windows Vista and later read PNG entries). */
function ico(images) {
  const header = Buffer.alloc(6)
  header.writeUInt16LE(0, 0)
  header.writeUInt16LE(1, 2)
  header.writeUInt16LE(images.length, 4)
  const entries = []
  let offset = 6 + 16 * images.length
  for (const { size, png } of images) {
    const entry = Buffer.alloc(16)
    entry.writeUInt8(size >= 256 ? 0 : size, 0)
    entry.writeUInt8(size >= 256 ? 0 : size, 1)
    entry.writeUInt8(0, 2)
    entry.writeUInt8(0, 3)
    entry.writeUInt16LE(1, 4)
    entry.writeUInt16LE(32, 6)
    entry.writeUInt32LE(png.length, 8)
    entry.writeUInt32LE(offset, 12)
    offset += png.length
    entries.push(entry)
  }
  return Buffer.concat([header, ...entries, ...images.map((i) => i.png)])
}

/** An ICNS file: 'icns', total length, then elements of type, length (with its 8-byte header) and PNG data. */
function icns(elements) {
  const parts = elements.map(({ type, png }) => {
    const head = Buffer.alloc(8)
    head.write(type, 0, 'ascii')
    head.writeUInt32BE(png.length + 8, 4)
    return Buffer.concat([head, png])
  })
  const body = Buffer.concat(parts)
  const head = Buffer.alloc(8)
  head.write('icns', 0, 'ascii')
  head.writeUInt32BE(body.length + 8, 4)
  return Buffer.concat([head, body])
}

function iconFiles() {
  const svg = readFileSync(join(buildDir, 'icon.svg'), 'utf8')
  const png = new Map(PNG_SIZES.map((size) => [size, render(svg, size)]))
  const files = new Map()
  for (const [size, data] of png) files.set(join('icons', `${size}x${size}.png`), data)
  files.set('icon.png', png.get(1024))
  files.set('icon.ico', ico(ICO_SIZES.map((size) => ({ size, png: png.get(size) }))))
  files.set('icon.icns', icns(ICNS_TYPES.map(([type, size]) => ({ type, png: png.get(size) }))))
  return files
}

module.exports = { iconFiles, ico, icns, PNG_SIZES, ICO_SIZES, ICNS_TYPES }

if (require.main === module) {
  const check = process.argv.includes('--check')
  const stale = []
  mkdirSync(join(buildDir, 'icons'), { recursive: true })
  for (const [name, data] of iconFiles()) {
    const file = join(buildDir, name)
    if (check) {
      if (!existsSync(file) || !readFileSync(file).equals(data)) stale.push(name)
    } else writeFileSync(file, data)
  }
  if (stale.length) {
    console.error(`Icons out of date with build/icon.svg: ${stale.join(', ')}. Run \`node scripts/icons.js\`.`)
    process.exit(1)
  }
  if (!check) console.log(`Icons written to ${buildDir}`)
}
