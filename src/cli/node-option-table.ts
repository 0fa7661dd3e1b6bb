/**
 * The one table of where `cairn node start` reads each node option: its flag and its `CAIRN_*` environment variable.
 * Data only (a type import), so the command-line parser can take its flags without loading the node.
 */
import type { NodeOptionKey } from '../node/index.ts'

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

/** The test-only crash switch `<point>:<n>` (chaos scenario 5): nodes, `cairn put` and the gateway honour it. */
export const CRASH_AT_ENV = 'CAIRN_FAULT_CRASH_AT'

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
  { key: 'network.announce', flag: 'announce', multiple: true, env: 'CAIRN_NODE_ANNOUNCE' },
  { key: 'network.iceServers', flag: 'ice-server', multiple: true, env: 'CAIRN_NODE_ICE_SERVERS' },
  { key: 'network.allowPrivateAddresses', flag: 'lan', boolean: true, env: 'CAIRN_NODE_LAN' },
  { key: 'storage.quota', flag: 'quota', env: 'CAIRN_NODE_QUOTA' },
  { key: 'chain.rpcUrl', flag: 'chain-rpc', env: 'CAIRN_CHAIN_RPC' },
  { key: 'chain.fallbackRpcUrls', flag: 'chain-rpc-fallback', multiple: true, env: 'CAIRN_CHAIN_RPC_FALLBACK' },
  { key: 'chain.contractsFile', flag: 'contracts', env: 'CAIRN_CHAIN_CONTRACTS' },
  { key: 'chain.networkFile', flag: 'network', env: 'CAIRN_NETWORK' },
  { key: 'chain.privateKey', flag: 'key-file', env: 'CAIRN_PRIVATE_KEY', fromEnv: (text) => ({ text }) },
  { key: 'chain.pricePerByteEpoch', flag: 'price', env: 'CAIRN_NODE_PRICE' },
  { key: 'chain.stake', flag: 'stake', env: 'CAIRN_NODE_STAKE' },
  { key: 'chain.logBlockRange', flag: 'log-block-range', env: 'CAIRN_CHAIN_LOG_BLOCK_RANGE' },
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
  { key: 'gc.graceMs', flag: 'gc-grace-ms', env: 'CAIRN_GC_GRACE_MS' },
  { key: 'gc.intervalMs', flag: 'gc-interval-ms', env: 'CAIRN_GC_INTERVAL_MS' },
  { key: 'limits.maxBytesInFlightTotal', flag: 'max-bytes-in-flight', env: 'CAIRN_NODE_MAX_BYTES_IN_FLIGHT' },
  {
    key: 'limits.maxBytesInFlightPerPeer',
    flag: 'max-bytes-in-flight-per-peer',
    env: 'CAIRN_NODE_MAX_BYTES_IN_FLIGHT_PER_PEER',
  },
  { key: 'faults.corruptServedPieces', env: 'CAIRN_FAULT_CORRUPT_PIECES' },
  { key: 'faults.fakeProofs', env: 'CAIRN_FAULT_FAKE_PROOFS' },
  { key: 'faults.repairHoldFile', env: 'CAIRN_FAULT_REPAIR_HOLD_FILE' },
  { key: 'faults.benchSink', env: 'CAIRN_BENCH_SINK' },
  { key: 'faults.crashAt', env: CRASH_AT_ENV },
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
