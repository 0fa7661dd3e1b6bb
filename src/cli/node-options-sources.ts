/**
 * The one table of where `cairn node start` reads each node option: its flag and its `CAIRN_*` environment variable
 * (config.json and the defaults are src/node's: node-options.ts). Precedence for every key: flag > variable >
 * config.json > default. Only src/cli reads `process.env`; it hands the variables to this file as a plain map.
 */
import { resolve } from 'node:path'
import { InvalidArgumentError } from '../errors.ts'
import {
  type NodeOptionKey,
  type NodeOptions,
  type NodeOptionsLayer,
  type NodeOptionValue,
  setNodeOption,
} from '../node/index.ts'
import type { ParsedCommandLine } from './command-line.ts'

/** Where one key is read from on the command line and in the environment. */
export interface NodeOptionSource {
  key: NodeOptionKey
  /** Flag of `cairn node start`, without the dashes. */
  flag?: string
  /** The flag is a switch (`--devnet`): it sets true. */
  boolean?: boolean
  /** A boolean key's flag that sets false (`no-mdns`). */
  negativeFlag?: string
  /** The flag is given once per value (`--listen A --listen B`); its variable is comma-separated. */
  multiple?: boolean
  /** `CAIRN_*` environment variable. */
  env?: string
  /** What the variable's text means when it is not what the flag takes (`CAIRN_PRIVATE_KEY` holds the key itself). */
  fromEnv?: (text: string) => unknown
}

/**
 * Every node option's flag and variable. Keys of `faults` have a variable only: they are test and benchmark switches,
 * never on a production command line or in config.json. `CAIRN_PRIVATE_KEY` is the key's text, never a file.
 */
export const NODE_OPTION_SOURCES: readonly NodeOptionSource[] = [
  { key: 'network.listen', flag: 'listen', multiple: true, env: 'CAIRN_NODE_LISTEN' },
  { key: 'network.bootstrap', flag: 'bootstrap', multiple: true, env: 'CAIRN_NODE_BOOTSTRAP' },
  { key: 'network.mdns', flag: 'mdns', boolean: true, negativeFlag: 'no-mdns', env: 'CAIRN_NODE_MDNS' },
  { key: 'network.devnet', flag: 'devnet', boolean: true, env: 'CAIRN_NODE_DEVNET' },
  { key: 'network.heartbeatIntervalMs', flag: 'heartbeat-ms', env: 'CAIRN_NODE_HEARTBEAT_MS' },
  { key: 'network.apiPort', flag: 'api-port', env: 'CAIRN_NODE_API_PORT' },
  { key: 'storage.quota', flag: 'quota', env: 'CAIRN_NODE_QUOTA' },
  { key: 'chain.rpcUrl', flag: 'chain-rpc', env: 'CAIRN_CHAIN_RPC' },
  { key: 'chain.contractsFile', flag: 'contracts', env: 'CAIRN_CHAIN_CONTRACTS' },
  { key: 'chain.privateKey', flag: 'key-file', env: 'CAIRN_PRIVATE_KEY', fromEnv: (text) => ({ text }) },
  { key: 'chain.pricePerByteEpoch', flag: 'price', env: 'CAIRN_NODE_PRICE' },
  { key: 'chain.stake', flag: 'stake', env: 'CAIRN_NODE_STAKE' },
  { key: 'chain.watcher', flag: 'watcher', boolean: true, negativeFlag: 'no-watcher', env: 'CAIRN_NODE_WATCHER' },
  { key: 'repair.checkIntervalMs', flag: 'repair-check-ms', env: 'CAIRN_REPAIR_CHECK_MS' },
  { key: 'repair.placementRefreshMs', flag: 'repair-placement-refresh-ms', env: 'CAIRN_REPAIR_PLACEMENT_REFRESH_MS' },
  { key: 'repair.confirmMs', flag: 'repair-confirm-ms', env: 'CAIRN_REPAIR_CONFIRM_MS' },
  { key: 'repair.fallbackMs', flag: 'repair-fallback-ms', env: 'CAIRN_REPAIR_FALLBACK_MS' },
  { key: 'repair.scrubIntervalMs', flag: 'repair-scrub-ms', env: 'CAIRN_REPAIR_SCRUB_MS' },
  { key: 'repair.scrubReads', flag: 'repair-scrub-reads', env: 'CAIRN_REPAIR_SCRUB_READS' },
  { key: 'repair.concurrency', flag: 'repair-concurrency', env: 'CAIRN_REPAIR_CONCURRENCY' },
  { key: 'repair.pieceTimeoutMs', flag: 'repair-piece-timeout-ms', env: 'CAIRN_REPAIR_PIECE_TIMEOUT_MS' },
  { key: 'repair.adoptTimeoutMs', flag: 'repair-adopt-timeout-ms', env: 'CAIRN_REPAIR_ADOPT_TIMEOUT_MS' },
  { key: 'limits.maxBytesInFlightTotal', flag: 'max-bytes-in-flight', env: 'CAIRN_NODE_MAX_BYTES_IN_FLIGHT' },
  {
    key: 'limits.maxBytesInFlightPerPeer',
    flag: 'max-bytes-in-flight-per-peer',
    env: 'CAIRN_NODE_MAX_BYTES_IN_FLIGHT_PER_PEER',
  },
  { key: 'faults.corruptServedPieces', env: 'CAIRN_FAULT_CORRUPT_PIECES' },
  { key: 'faults.fakeProofs', env: 'CAIRN_FAULT_FAKE_PROOFS' },
  { key: 'faults.repairPieceDelayMs', env: 'CAIRN_REPAIR_PIECE_DELAY_MS' },
  { key: 'faults.benchSink', env: 'CAIRN_BENCH_SINK' },
]

/** The node's data dir: `--dir`, else `CAIRN_NODE_DIR`, else this default (relative to the working directory). */
export const DEFAULT_NODE_DIR = '.cairn-node'
export const NODE_DIR_ENV = 'CAIRN_NODE_DIR'

type FlagSpec = { type: 'string' | 'boolean'; multiple?: boolean }

/** The `parseArgs` options of every node option flag (for `cairn node start`'s command-line spec). */
export const NODE_OPTION_FLAGS: Record<string, FlagSpec> = nodeOptionFlags()

function nodeOptionFlags(): Record<string, FlagSpec> {
  const flags: Record<string, FlagSpec> = {}
  for (const source of NODE_OPTION_SOURCES) {
    if (source.flag === undefined) continue
    if (source.boolean === true) {
      flags[source.flag] = { type: 'boolean' }
      if (source.negativeFlag !== undefined) flags[source.negativeFlag] = { type: 'boolean' }
    } else {
      flags[source.flag] = source.multiple === true ? { type: 'string', multiple: true } : { type: 'string' }
    }
  }
  return flags
}

/**
 * The data dir of `cairn node start`: `--dir` > `CAIRN_NODE_DIR` > `.cairn-node`, resolved against the working
 * directory.
 */
export function nodeDataDir(values: ParsedCommandLine['values'], env: Record<string, string | undefined>): string {
  const fromEnv = env[NODE_DIR_ENV]
  return resolve((values.dir as string | undefined) ?? (fromEnv === '' ? undefined : fromEnv) ?? DEFAULT_NODE_DIR)
}

/**
 * The node options the environment sets (`CAIRN_*`, per `NODE_OPTION_SOURCES`); an empty variable counts as unset.
 * A value that does not parse is an error naming the variable.
 *
 * @example
 * ```ts
 * nodeOptionsFromEnv({ CAIRN_REPAIR_CONFIRM_MS: '1000' }) // { repair: { confirmMs: 1000 } }
 * ```
 */
export function nodeOptionsFromEnv(env: Record<string, string | undefined>): NodeOptionsLayer {
  const layer: NodeOptionsLayer = {}
  for (const source of NODE_OPTION_SOURCES) {
    if (source.env === undefined) continue
    const text = env[source.env]
    if (text === undefined || text === '') continue
    if (source.fromEnv !== undefined) assignNodeOption(layer, source.key, source.fromEnv(text))
    else if (source.multiple === true) setNodeOption(layer, source.key, commaList(text), source.env)
    else setNodeOption(layer, source.key, text, source.env)
  }
  return layer
}

/**
 * The node options the flags set (per `NODE_OPTION_SOURCES`). A value that does not parse is an error naming the
 * flag; a boolean's flag and its negation together contradict each other.
 *
 * @example
 * ```ts
 * nodeOptionsFromFlags({ 'api-port': '7000', 'no-mdns': true }) // { network: { apiPort: 7000, mdns: false } }
 * ```
 */
export function nodeOptionsFromFlags(values: ParsedCommandLine['values']): NodeOptionsLayer {
  const layer: NodeOptionsLayer = {}
  for (const source of NODE_OPTION_SOURCES) {
    if (source.flag === undefined) continue
    const raw = values[source.flag]
    const negative = source.negativeFlag === undefined ? undefined : values[source.negativeFlag]
    if (raw === true && negative === true) {
      throw new InvalidArgumentError(`--${source.flag} and --${source.negativeFlag} contradict each other`)
    }
    if (negative === true) setNodeOption(layer, source.key, false, `--${source.negativeFlag}`)
    else if (raw === false) continue
    else if (raw !== undefined) setNodeOption(layer, source.key, raw, `--${source.flag}`)
  }
  return layer
}

function assignNodeOption<K extends NodeOptionKey>(layer: NodeOptionsLayer, key: K, value: unknown): void {
  const [section, name] = key.split('.') as [keyof NodeOptions, string]
  ;(layer as Record<string, Record<string, unknown>>)[section] = {
    ...(layer[section] as Record<string, unknown> | undefined),
    [name]: value as NodeOptionValue<K>,
  }
}

function commaList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
}
