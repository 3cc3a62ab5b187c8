// Start a throwaway Bluesky PDS (the reference @atproto/pds) and an in-memory PLC
// directory (@did-plc/server's mock database) in this process, both on 127.0.0.1.
//
//   node start.mjs --pds-port N [--plc-port N] [--data DIR] [--deps DIR]
//
// Needs Node 22 and the packages that scripts/pds-deps installs into .cache/pds/app
// (or --deps DIR). Prints ONE line of JSON on stdout when both servers answer:
//   {"ready":true,"pds":"http://localhost:N","plc":"http://127.0.0.1:M","admin_password":...}
// Everything else (logs, errors) goes to stderr. Stops cleanly on SIGTERM or SIGINT, and
// also when stdin closes, so a parent that dies does not leave a server behind.
import { createRequire } from 'node:module'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const HOST = '127.0.0.1'
export const ADMIN_PASSWORD = 'stormhub-test-admin'
export const JWT_SECRET = 'stormhub-test-jwt-secret'

const here = path.dirname(fileURLToPath(import.meta.url))
const { values: args } = parseArgs({
  options: {
    'pds-port': { type: 'string' },
    'plc-port': { type: 'string', default: '0' },
    data: { type: 'string' },
    deps: { type: 'string', default: path.resolve(here, '../../.cache/pds/app') },
    'watch-stdin': { type: 'boolean', default: false },
  },
})

function fail(message) {
  process.stderr.write(`start.mjs: ${message}\n`)
  process.exit(2)
}

const major = Number(process.versions.node.split('.')[0])
if (major < 22) fail(`@atproto/pds needs Node 22 or newer, this is ${process.version}`)
const pdsPort = Number(args['pds-port'])
if (!Number.isInteger(pdsPort) || pdsPort <= 0) fail('--pds-port N is required')
const plcPort = Number(args['plc-port'])
if (!fs.existsSync(path.join(args.deps, 'node_modules', '@atproto', 'pds'))) {
  fail(`no @atproto/pds under ${args.deps}: run scripts/pds-deps`)
}

// The packages live outside this folder: resolve them from the deps folder.
const requireDeps = createRequire(path.join(args.deps, 'package.json'))
const load = (name) => import(pathToFileURL(requireDeps.resolve(name)).href)
const requirePds = createRequire(requireDeps.resolve('@atproto/pds'))
const loadFromPds = (name) => import(pathToFileURL(requirePds.resolve(name)).href)

const pdsMod = await load('@atproto/pds')
const plcMod = await load('@did-plc/server')
const cryptoMod = await loadFromPds('@atproto/crypto')
const pds = pdsMod // ESM: named exports PDS, envToCfg, envToSecrets
const plc = plcMod.PlcServer ? plcMod : plcMod.default // CJS: module.exports
const { Secp256k1Keypair } = cryptoMod.default?.Secp256k1Keypair ? cryptoMod.default : cryptoMod

// Bind both servers to loopback: their start() calls app.listen(port) with no host.
function listenOnLoopback(app) {
  const listen = app.listen.bind(app)
  app.listen = (port, ...rest) => listen(port, HOST, ...rest)
}

const dataDir = args.data ?? fs.mkdtempSync(path.join(os.tmpdir(), 'stormhub-pds-'))
const ownData = args.data === undefined
fs.mkdirSync(path.join(dataDir, 'blobs'), { recursive: true })

let plcServer
let pdsServer
let stopping = null

async function stop(code) {
  if (stopping) return stopping
  stopping = (async () => {
    const timer = setTimeout(() => process.exit(code || 1), 5000)
    timer.unref()
    try {
      await pdsServer?.destroy()
    } catch (err) {
      process.stderr.write(`start.mjs: stopping the PDS: ${err?.stack ?? err}\n`)
    }
    try {
      await plcServer?.destroy()
    } catch (err) {
      process.stderr.write(`start.mjs: stopping PLC: ${err?.stack ?? err}\n`)
    }
    if (ownData) fs.rmSync(dataDir, { recursive: true, force: true })
    process.exit(code)
  })()
  return stopping
}

process.on('SIGTERM', () => stop(0))
process.on('SIGINT', () => stop(0))
if (args['watch-stdin']) {
  process.stdin.on('end', () => stop(0))
  process.stdin.on('error', () => stop(0))
  process.stdin.resume()
}

try {
  plcServer = plc.PlcServer.create({ db: plc.Database.mock(), port: plcPort })
  listenOnLoopback(plcServer.app)
  const plcHttp = await plcServer.start()
  const plcUrl = `http://${HOST}:${plcHttp.address().port}`

  const rotationKey = await Secp256k1Keypair.create({ exportable: true })
  const recoveryKey = await Secp256k1Keypair.create()
  const env = {
    devMode: true,
    port: pdsPort,
    hostname: 'localhost', // public URL http://localhost:<port>, DID did:web:localhost
    dataDirectory: dataDir,
    blobstoreDiskLocation: path.join(dataDir, 'blobs'),
    didPlcUrl: plcUrl,
    recoveryDidKey: recoveryKey.did(),
    plcRotationKeyK256PrivateKeyHex: Buffer.from(await rotationKey.export()).toString('hex'),
    adminPassword: ADMIN_PASSWORD,
    jwtSecret: JWT_SECRET,
    serviceHandleDomains: ['.test'],
    inviteRequired: false,
    rateLimitsEnabled: false,
    disableSsrfProtection: true,
    crawlers: [],
    serviceName: 'StormHub test PDS',
  }
  const cfg = pds.envToCfg(env)
  const secrets = pds.envToSecrets(env)
  pdsServer = await pds.PDS.create(cfg, secrets)
  listenOnLoopback(pdsServer.app)
  await pdsServer.start()

  const pdsUrl = `http://localhost:${pdsPort}`
  const health = await fetch(`http://${HOST}:${pdsPort}/xrpc/_health`)
  if (!health.ok) throw new Error(`PDS health check answered ${health.status}`)
  process.stdout.write(
    JSON.stringify({
      ready: true,
      pds: pdsUrl,
      pds_loopback: `http://${HOST}:${pdsPort}`,
      plc: plcUrl,
      admin_password: ADMIN_PASSWORD,
      data: dataDir,
      node: process.version,
      version: cfg.service.version,
    }) + '\n',
  )
} catch (err) {
  process.stderr.write(`start.mjs: could not start: ${err?.stack ?? err}\n`)
  await stop(1)
}
