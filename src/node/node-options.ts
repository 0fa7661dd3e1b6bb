/**
 * A storage node's options, composed as Lodestar composes its beacon node's: each layer's named defaults
 * (`defaultNodeOptions`), then the data dir's config.json, the environment and the flags, each over the one before.
 * Which flag and which `CAIRN_*` variable set a key is src/cli's business (node-options-sources.ts); this file knows
 * the keys, their values' shapes and the config file.
 */
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { DEFAULT_LOG_BLOCK_RANGE, iceServersProblem, TOKEN_DECIMALS } from '../chain/index.ts'
import { InvalidArgumentError } from '../errors.ts'
import { mkdirDurable, writeFileDurable } from '../storage/index.ts'
import { parseByteSize } from './byte-size.ts'
import { DEFAULT_NODE_PRICE_PER_BYTE_EPOCH, DEFAULT_NODE_STAKE } from './chain-service/index.ts'
import {
  CONFIG_FILE,
  DEFAULT_API_PORT,
  DEFAULT_LISTEN,
  DEFAULT_NODE_MAX_BYTES_IN_FLIGHT,
  DEFAULT_NODE_MAX_BYTES_IN_FLIGHT_PER_PEER,
  DEFAULT_QUOTA,
} from './constants.ts'
import { DEFAULT_GC_GRACE_MS, DEFAULT_GC_INTERVAL_MS } from './gc/index.ts'
import type { NodeOptions, NodeOptionsLayer, NodePrivateKeySource } from './interface.ts'
import {
  DEFAULT_REPAIR_ADOPT_TIMEOUT_MS,
  DEFAULT_REPAIR_CHECK_INTERVAL_MS,
  DEFAULT_REPAIR_CONCURRENCY,
  DEFAULT_REPAIR_CONFIRM_MS,
  DEFAULT_REPAIR_FALLBACK_MS,
  DEFAULT_REPAIR_PIECE_TIMEOUT_MS,
  DEFAULT_REPAIR_PLACEMENT_REFRESH_MS,
  DEFAULT_REPAIR_SCRUB_INTERVAL_MS,
  DEFAULT_REPAIR_SCRUB_READS,
} from './repair/index.ts'

/** The sections of `NodeOptions`, in the order the docs and config.json list them. */
export const NODE_OPTION_SECTIONS = ['network', 'storage', 'chain', 'repair', 'gc', 'limits', 'faults'] as const

/** A key of `NodeOptions` as `section.name`, e.g. `network.apiPort`. */
export type NodeOptionKey = {
  [S in keyof NodeOptions]: `${S}.${keyof NodeOptions[S] & string}`
}[keyof NodeOptions]

/** The value type of one key. */
export type NodeOptionValue<K extends NodeOptionKey> = K extends `${infer S extends keyof NodeOptions}.${infer N}`
  ? N extends keyof NodeOptions[S]
    ? Exclude<NodeOptions[S][N], undefined>
    : never
  : never

/** How one key's value is read from a flag, a variable or config.json: `label` names the source in errors. */
export interface NodeOptionSpec<T> {
  /** Checks and converts a raw value (JSON from config.json; text from a flag or variable). */
  parse: (raw: unknown, label: string) => T
  /** Its name in config.json (default the key); `null`: never read from the file. */
  file?: string | null
  /** Its name in the flat config.json of earlier versions (the network section and the quota). */
  legacy?: string
  /** The value names a file: relative paths in config.json are resolved against the data dir. */
  isPath?: boolean
}

const CAIRN = 10n ** BigInt(TOKEN_DECIMALS)

/** The defaults of every node setting, each a layer's named default. */
export function defaultNodeOptions(): NodeOptions {
  return {
    network: {
      listen: [...DEFAULT_LISTEN],
      bootstrap: [],
      mdns: true,
      devnet: false,
      apiPort: DEFAULT_API_PORT,
      announce: [],
      iceServers: [],
      allowPrivateAddresses: false,
    },
    storage: { quota: DEFAULT_QUOTA },
    chain: {
      pricePerByteEpoch: DEFAULT_NODE_PRICE_PER_BYTE_EPOCH,
      stake: DEFAULT_NODE_STAKE,
      watcher: true,
      logBlockRange: DEFAULT_LOG_BLOCK_RANGE,
    },
    repair: {
      checkIntervalMs: DEFAULT_REPAIR_CHECK_INTERVAL_MS,
      placementRefreshMs: DEFAULT_REPAIR_PLACEMENT_REFRESH_MS,
      confirmMs: DEFAULT_REPAIR_CONFIRM_MS,
      fallbackMs: DEFAULT_REPAIR_FALLBACK_MS,
      scrubIntervalMs: DEFAULT_REPAIR_SCRUB_INTERVAL_MS,
      scrubReads: DEFAULT_REPAIR_SCRUB_READS,
      concurrency: DEFAULT_REPAIR_CONCURRENCY,
      pieceTimeoutMs: DEFAULT_REPAIR_PIECE_TIMEOUT_MS,
      adoptTimeoutMs: DEFAULT_REPAIR_ADOPT_TIMEOUT_MS,
    },
    gc: { graceMs: DEFAULT_GC_GRACE_MS, intervalMs: DEFAULT_GC_INTERVAL_MS },
    limits: {
      maxBytesInFlightTotal: DEFAULT_NODE_MAX_BYTES_IN_FLIGHT,
      maxBytesInFlightPerPeer: DEFAULT_NODE_MAX_BYTES_IN_FLIGHT_PER_PEER,
    },
    faults: { corruptServedPieces: false, fakeProofs: false, repairHoldFile: '', benchSink: false, crashAt: '' },
  }
}

const bad = (label: string, want: string, raw: unknown): never => {
  throw new InvalidArgumentError(`${label} must be ${want}, got ${JSON.stringify(raw) ?? String(raw)}`)
}

const addresses = (raw: unknown, label: string): string[] => {
  if (!Array.isArray(raw) || raw.some((s) => typeof s !== 'string'))
    return bad(label, 'an array of multiaddr strings', raw)
  return [...(raw as string[])]
}

const rpcUrls = (raw: unknown, label: string): string[] => {
  if (!Array.isArray(raw) || raw.some((s) => typeof s !== 'string' || !/^(https?|wss?):\/\/./.test(s)))
    return bad(label, 'an array of http(s) or ws(s) JSON-RPC URLs', raw)
  return [...(raw as string[])]
}

const stunUrls = (raw: unknown, label: string): string[] => {
  const problem = iceServersProblem(raw)
  if (problem !== undefined) throw new InvalidArgumentError(`${label} ${problem}`)
  return [...(raw as string[])]
}

const onOff = (raw: unknown, label: string): boolean => {
  if (typeof raw === 'boolean') return raw
  if (raw === '1' || raw === 'true') return true
  if (raw === '0' || raw === 'false' || raw === '') return false
  return bad(label, 'true or false (1 or 0)', raw)
}

const whole =
  (min: number, max: number, unit = '') =>
  (raw: unknown, label: string): number => {
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return bad(label, `a whole number${unit} from ${min} to ${max}`, raw)
    }
    return value
  }

const positiveMs = whole(1, 2 ** 31 - 1, ' of milliseconds')

const size =
  (limited: boolean) =>
  (raw: unknown, label: string): number => {
    if (typeof raw !== 'number' && typeof raw !== 'string') return bad(label, 'a size such as "10GiB"', raw)
    let bytes: number
    try {
      bytes = parseByteSize(raw)
    } catch (err) {
      throw new InvalidArgumentError(`${label}: ${(err as Error).message}`, { cause: err })
    }
    if (limited && !(Number.isFinite(bytes) && bytes > 0)) return bad(label, 'a size above 0 such as "64MiB"', raw)
    return bytes
  }

const text = (raw: unknown, label: string): string => {
  if (typeof raw !== 'string' || raw.trim() === '') return bad(label, 'a non-empty string', raw)
  return raw
}

const wholeNumber = (raw: unknown, label: string): bigint => {
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0) return BigInt(raw)
  if (typeof raw === 'string' && /^\d+$/.test(raw)) return BigInt(raw)
  return bad(label, 'a whole number', raw)
}

/** Every key: how its value is read, and its name in config.json. */
export const NODE_OPTION_SPECS: { [K in NodeOptionKey]: NodeOptionSpec<NodeOptionValue<K>> } = {
  'network.listen': { parse: addresses, legacy: 'listen' },
  'network.bootstrap': { parse: addresses, legacy: 'bootstrap' },
  'network.mdns': { parse: onOff, legacy: 'mdns' },
  'network.devnet': { parse: onOff, legacy: 'devnet' },
  'network.heartbeatIntervalMs': { parse: whole(100, 60_000, ' of milliseconds'), legacy: 'heartbeatIntervalMs' },
  'network.apiPort': { parse: whole(0, 65535), legacy: 'apiPort' },
  'network.announce': { parse: addresses },
  'network.iceServers': { parse: stunUrls },
  'network.allowPrivateAddresses': { parse: onOff },
  'storage.quota': { parse: size(false), legacy: 'quota' },
  'chain.rpcUrl': { parse: text },
  'chain.fallbackRpcUrls': { parse: rpcUrls },
  'chain.contractsFile': { parse: text, isPath: true },
  'chain.networkFile': { parse: text, isPath: true },
  'chain.privateKey': {
    parse: (raw, label): NodePrivateKeySource => ({ file: text(raw, label) }),
    file: 'chain.keyFile',
    isPath: true,
  },
  'chain.pricePerByteEpoch': { parse: wholeNumber },
  'chain.stake': { parse: (raw, label) => wholeNumber(raw, label) * CAIRN },
  'chain.watcher': { parse: onOff },
  'chain.logBlockRange': { parse: whole(1, 1_000_000, ' of blocks') },
  'repair.checkIntervalMs': { parse: positiveMs },
  'repair.placementRefreshMs': { parse: positiveMs },
  'repair.confirmMs': { parse: positiveMs },
  'repair.fallbackMs': { parse: positiveMs },
  'repair.scrubIntervalMs': { parse: positiveMs },
  'repair.scrubReads': { parse: whole(1, 1_000_000) },
  'repair.concurrency': { parse: whole(1, 1024) },
  'repair.pieceTimeoutMs': { parse: positiveMs },
  'repair.adoptTimeoutMs': { parse: positiveMs },
  'gc.graceMs': { parse: whole(0, 2 ** 31 - 1, ' of milliseconds') },
  'gc.intervalMs': { parse: positiveMs },
  'limits.maxBytesInFlightTotal': { parse: size(true) },
  'limits.maxBytesInFlightPerPeer': { parse: size(true) },
  'faults.corruptServedPieces': { parse: onOff, file: null },
  'faults.fakeProofs': { parse: onOff, file: null },
  'faults.repairHoldFile': { parse: text, file: null },
  'faults.benchSink': { parse: onOff, file: null },
  'faults.crashAt': { parse: text, file: null },
}

/** Every key, in table order. */
export const NODE_OPTION_KEYS = Object.keys(NODE_OPTION_SPECS) as NodeOptionKey[]

/**
 * Reads one key's raw value with its spec and sets it in `layer` (`label` names the source in errors).
 *
 * @example
 * ```ts
 * const flags: NodeOptionsLayer = {}
 * setNodeOption(flags, 'network.apiPort', '7000', '--api-port') // flags.network.apiPort === 7000
 * ```
 */
export function setNodeOption(layer: NodeOptionsLayer, key: NodeOptionKey, raw: unknown, label: string): void {
  const value = (NODE_OPTION_SPECS[key] as NodeOptionSpec<unknown>).parse(raw, label)
  const [section, name] = key.split('.') as [keyof NodeOptions, string]
  const target = (layer[section] ?? {}) as Record<string, unknown>
  target[name] = value
  ;(layer as Record<string, unknown>)[section] = target
}

/**
 * The effective options: the defaults, then each layer in order (lowest first), each over the ones before; a key a
 * layer leaves out (or sets to `undefined`) keeps the value below.
 *
 * @example
 * ```ts
 * const options = composeNodeOptions(fromFile, fromEnv, fromFlags)
 * ```
 */
export function composeNodeOptions(...layers: NodeOptionsLayer[]): NodeOptions {
  const options = defaultNodeOptions()
  for (const layer of layers) {
    for (const section of NODE_OPTION_SECTIONS) {
      const values = layer[section]
      if (values === undefined) continue
      for (const [name, value] of Object.entries(values)) {
        if (value !== undefined) (options[section] as unknown as Record<string, unknown>)[name] = value
      }
    }
  }
  return options
}

/**
 * Reads `dataDir/config.json`, creating the folder (0700) and the file with the network and storage defaults (plus
 * the flags of this first start) when missing, and returns the effective options: flags > env > file > defaults.
 *
 * @example
 * ```ts
 * const options = await loadNodeOptions('/var/lib/cairn', { flags: { storage: { quota: 10e9 } } })
 * ```
 */
export async function loadNodeOptions(
  dataDir: string,
  sources: { env?: NodeOptionsLayer; flags?: NodeOptionsLayer } = {},
): Promise<NodeOptions> {
  await mkdirDurable(dataDir, { mode: 0o700 })
  const path = join(dataDir, CONFIG_FILE)
  let fromFile: NodeOptionsLayer = {}
  let fileText: string | undefined
  try {
    fileText = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const env = sources.env ?? {}
  const flags = sources.flags ?? {}
  if (fileText === undefined) {
    await writeFileDurable(path, `${JSON.stringify(serializeNodeOptionsFile(composeNodeOptions(flags)), null, 2)}\n`)
  } else {
    fromFile = parseNodeOptionsFile(fileText, path)
  }
  return composeNodeOptions(fromFile, env, flags)
}

/**
 * The config.json written on a data dir's first start: the network and storage sections (`quota` a number of bytes
 * or `"unlimited"`). Chain, repair and limits keys are read from the file when present but not written.
 */
export function serializeNodeOptionsFile(options: NodeOptions): Record<string, unknown> {
  return {
    network: { ...options.network },
    storage: { quota: Number.isFinite(options.storage.quota) ? options.storage.quota : 'unlimited' },
  }
}

/**
 * Parses and checks a config file's text: sections `network`, `storage`, `chain`, `repair`, `gc`, `limits` (the flat keys of
 * earlier versions are read as the network section and the quota). A wrong value or an unknown key in a section is an
 * error naming the key; unknown top-level keys are ignored.
 *
 * @example
 * ```ts
 * parseNodeOptionsFile('{"network":{"apiPort":7000},"repair":{"confirmMs":5000}}')
 * ```
 */
export function parseNodeOptionsFile(fileText: string, path = CONFIG_FILE): NodeOptionsLayer {
  let raw: unknown
  try {
    raw = JSON.parse(fileText)
  } catch (err) {
    throw new InvalidArgumentError(`${path} is not valid JSON: fix or remove it`, { cause: err })
  }
  if (!isObject(raw)) throw new InvalidArgumentError(`${path} must hold a JSON object: fix or remove it`)
  if (raw.faults !== undefined) {
    throw new InvalidArgumentError(`${path}: "faults" are test switches and are never read from ${CONFIG_FILE}`)
  }
  const layer: NodeOptionsLayer = {}
  const known = new Map<string, NodeOptionKey>()
  for (const key of NODE_OPTION_KEYS) {
    const spec = NODE_OPTION_SPECS[key] as NodeOptionSpec<unknown>
    if (spec.file !== null) known.set(spec.file ?? key, key)
  }
  const set = (key: NodeOptionKey, value: unknown, name: string) => {
    const spec = NODE_OPTION_SPECS[key] as NodeOptionSpec<unknown>
    if (spec.isPath === true && typeof value === 'string') value = resolve(dirname(path), value)
    setNodeOption(layer, key, value, `${path}: "${name}"`)
  }
  for (const section of NODE_OPTION_SECTIONS) {
    const values = raw[section]
    if (values === undefined || values === null) continue
    if (!isObject(values)) throw new InvalidArgumentError(`${path}: "${section}" must be an object`)
    for (const [name, value] of Object.entries(values)) {
      const key = known.get(`${section}.${name}`)
      if (key === undefined) throw new InvalidArgumentError(`${path}: unknown key "${section}.${name}"`)
      if (value !== undefined && value !== null) set(key, value, `${section}.${name}`)
    }
  }
  for (const key of NODE_OPTION_KEYS) {
    const legacy = (NODE_OPTION_SPECS[key] as NodeOptionSpec<unknown>).legacy
    if (legacy === undefined || raw[legacy] === undefined || raw[legacy] === null) continue
    const [section, name] = key.split('.') as [keyof NodeOptions, string]
    if (isObject(raw[section]) && raw[section][name] !== undefined) {
      throw new InvalidArgumentError(`${path}: "${legacy}" and "${key}" are both set: keep "${key}"`)
    }
    set(key, raw[legacy], legacy)
  }
  return layer
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
