/**
 * The network file (network.json): everything a node or a user needs to join one Cairn network, and nothing secret.
 * Who deploys the contracts (`cairn network deploy`, or the devnet) writes it; operators and users are handed it.
 * The format is docs/protocol.md, "The network file".
 */
import { readFile } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { type Address, getAddress, isAddress } from 'viem'
import { InvalidArgumentError, NotFoundError } from '../errors.ts'
import { writeFileDurable } from '../storage/index.ts'
import type { ChainContracts, ChainReaderInit } from './interface.ts'

/** The version of the network file's format this code reads and writes. */
export const NETWORK_FILE_FORMAT = 1
/** The network file's usual name (the devnet writes it in its folder). */
export const NETWORK_FILE = 'network.json'
/** Longest network file read (a bootstrap list of a few hundred addresses fits many times over). */
const MAX_NETWORK_FILE_BYTES = 1024 * 1024
/** Most bootstrap addresses a network file may list. */
export const MAX_BOOTSTRAP_ADDRESSES = 256
/** Most JSON-RPC endpoints a network file lists. */
export const MAX_RPC_URLS = 8
/** Most STUN servers a network file lists. */
export const MAX_ICE_SERVERS = 8

/** One Cairn network: its chain, its contracts and where to join it. */
export interface NetworkFile {
  format: typeof NETWORK_FILE_FORMAT
  /** A short name: letters, digits, `.`, `_` and `-` (1 to 64); names the user's local state folder. */
  name: string
  chainId: number
  /** JSON-RPC endpoint of the chain (http, https, ws or wss). */
  rpc: string
  /**
   * More endpoints of the same chain, tried in order when `rpc` fails (in the file: `"rpc"` is then a list, the first
   * being `rpc`). Absent or empty: one endpoint.
   */
  rpcFallbacks?: string[]
  /**
   * `token` is the payment token (CAIRN, ERC-20 with EIP-2612 permits); `registry` and `market` the Cairn contracts;
   * `names` the Names contract (absent in network files written before it: `cairn name` then names the fix).
   */
  contracts: ChainContracts & { names?: Address }
  /** The block of the contracts' deployment: event queries start here. */
  deploymentBlock: bigint
  /** Multiaddrs ending in `/p2p/<peer ID>` of nodes to join through; empty: the Registry's endpoints are enough. */
  bootstrap: string[]
  /** A LAN network (a devnet, a test cluster): private and loopback addresses are dialled and kept in the DHT. */
  allowPrivateAddresses: boolean
  /** The contracts' epoch length in seconds (informative: the Market holds the real value). */
  epochSeconds?: number
  /**
   * STUN servers (`stun:` / `stuns:` URLs) pages and nodes use for relay-signalled WebRTC, so that a page on another
   * network reaches a node behind NAT. Absent: none (host candidates only).
   */
  iceServers?: string[]
}

const KEYS = new Set([
  'format',
  'name',
  'chainId',
  'rpc',
  'contracts',
  'deploymentBlock',
  'bootstrap',
  'allowPrivateAddresses',
  'epochSeconds',
  'iceServers',
])

/**
 * Why `list` is not a list of STUN server URLs (`stun:host[:port]` or `stuns:`, at most MAX_ICE_SERVERS), or
 * undefined when it is one. TURN needs credentials, which a network file (public) must not hold.
 *
 * @example
 * ```ts
 * iceServersProblem(['stun:stun.example.org:3478']) // undefined
 * ```
 */
export function iceServersProblem(list: unknown): string | undefined {
  if (!Array.isArray(list) || list.length > MAX_ICE_SERVERS) {
    return `must be a list of at most ${MAX_ICE_SERVERS} STUN URLs such as "stun:stun.example.org:3478"`
  }
  const bad = list.find((url) => typeof url !== 'string' || !/^stuns?:[A-Za-z0-9.\-[\]:]+$/.test(url))
  return bad === undefined
    ? undefined
    : `must hold STUN URLs such as "stun:stun.example.org:3478" (no TURN: a network file is public), got ${JSON.stringify(bad)}`
}

/**
 * Parses and checks a network file's text. Every problem is an `InvalidArgumentError` naming the file (`path`), the
 * field and what it must be.
 *
 * @example
 * ```ts
 * const network = parseNetworkFile(await readFile('network.json', 'utf8'), 'network.json')
 * ```
 */
export function parseNetworkFile(text: string, path = NETWORK_FILE): NetworkFile {
  const bad = (problem: string): never => {
    throw new InvalidArgumentError(`the network file ${path} ${problem}`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new InvalidArgumentError(
      `the network file ${path} is not valid JSON (${(err as Error).message}): ask the network's operator for it again`,
      { cause: err },
    )
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('must hold a JSON object')
  const file = raw as Record<string, unknown>
  for (const key of Object.keys(file)) {
    if (!KEYS.has(key)) bad(`has an unknown field "${key}" (known: ${[...KEYS].join(', ')})`)
  }
  if (file.format !== NETWORK_FILE_FORMAT) {
    bad(
      `has format ${JSON.stringify(file.format)}, this cairn reads format ${NETWORK_FILE_FORMAT}: ${typeof file.format === 'number' && file.format > NETWORK_FILE_FORMAT ? 'upgrade cairn' : 'fix "format"'}`,
    )
  }
  const name = file.name
  if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(name) || name === '.' || name === '..') {
    bad('needs "name": 1 to 64 letters, digits, ".", "_" or "-"')
  }
  const chainId = file.chainId
  if (typeof chainId !== 'number' || !Number.isSafeInteger(chainId) || chainId <= 0) {
    bad(`needs "chainId": a positive whole number, got ${JSON.stringify(chainId)}`)
  }
  const rpcs = Array.isArray(file.rpc) ? (file.rpc as unknown[]) : [file.rpc]
  if (rpcs.length === 0 || rpcs.length > MAX_RPC_URLS) {
    bad(`needs "rpc": a JSON-RPC URL or a list of 1 to ${MAX_RPC_URLS} of them, got a list of ${rpcs.length}`)
  }
  const [rpc, ...rpcFallbacks] = rpcs.map((url) => checkRpcUrl(url, (problem) => bad(`needs "rpc": ${problem}`)))
  const contracts = file.contracts
  if (typeof contracts !== 'object' || contracts === null || Array.isArray(contracts)) {
    return bad('needs "contracts": an object with "token", "registry" and "market" addresses')
  }
  const addresses = {} as NetworkFile['contracts']
  for (const key of ['token', 'registry', 'market', 'names'] as const) {
    const value = (contracts as Record<string, unknown>)[key]
    if (key === 'names' && value === undefined) continue
    if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
      bad(`needs "contracts.${key}": a 0x address of 40 hex digits, got ${JSON.stringify(value)}`)
    }
    addresses[key] = getAddress(value as string)
  }
  const extra = Object.keys(contracts).filter((key) => !['token', 'registry', 'market', 'names'].includes(key))
  if (extra.length > 0) bad(`has an unknown field "contracts.${extra[0]}"`)
  if (new Set(Object.values(addresses)).size !== Object.keys(addresses).length) {
    bad('names one address for two contracts')
  }
  const block = file.deploymentBlock
  let deploymentBlock: bigint
  if (typeof block === 'number' && Number.isSafeInteger(block) && block >= 0) deploymentBlock = BigInt(block)
  else if (typeof block === 'string' && /^\d{1,30}$/.test(block)) deploymentBlock = BigInt(block)
  else
    return bad(
      `needs "deploymentBlock": a block number (a whole number or its decimal text), got ${JSON.stringify(block)}`,
    )
  const bootstrap = checkBootstrap(file.bootstrap ?? [], bad)
  const allow = file.allowPrivateAddresses ?? false
  if (typeof allow !== 'boolean') bad(`"allowPrivateAddresses" must be true or false, got ${JSON.stringify(allow)}`)
  const epochSeconds = file.epochSeconds
  if (
    epochSeconds !== undefined &&
    (typeof epochSeconds !== 'number' || !Number.isSafeInteger(epochSeconds) || epochSeconds < 1)
  ) {
    bad(`"epochSeconds" must be a positive whole number, got ${JSON.stringify(epochSeconds)}`)
  }
  const iceServers = file.iceServers
  const iceProblem = iceServers === undefined ? undefined : iceServersProblem(iceServers)
  if (iceProblem !== undefined) bad(`"iceServers" ${iceProblem}`)
  return {
    format: NETWORK_FILE_FORMAT,
    name: name as string,
    chainId: chainId as number,
    rpc: rpc!,
    ...(rpcFallbacks.length === 0 ? {} : { rpcFallbacks }),
    contracts: addresses,
    deploymentBlock,
    bootstrap,
    allowPrivateAddresses: allow as boolean,
    ...(epochSeconds === undefined ? {} : { epochSeconds: epochSeconds as number }),
    ...((iceServers as string[] | undefined)?.length ? { iceServers: [...(iceServers as string[])] } : {}),
  }
}

/**
 * A network's chain as a chain reader or client takes it: its endpoints (`rpc` first, then its fallbacks), chain ID
 * and contracts.
 *
 * @example
 * ```ts
 * const reader = createChainReader(networkChain(network))
 * const client = createChainClient({ ...networkChain(network), privateKey })
 * ```
 */
export function networkChain(
  network: Pick<NetworkFile, 'rpc' | 'rpcFallbacks' | 'chainId' | 'contracts'>,
): Pick<ChainReaderInit, 'rpcUrl' | 'fallbackRpcUrls' | 'chainId' | 'contracts'> {
  const fallbacks = network.rpcFallbacks ?? []
  return {
    rpcUrl: network.rpc,
    ...(fallbacks.length === 0 ? {} : { fallbackRpcUrls: fallbacks }),
    chainId: network.chainId,
    contracts: network.contracts,
  }
}

/** An RPC URL: http(s) or ws(s), no credentials shown in errors. */
function checkRpcUrl(raw: unknown, bad: (problem: string) => never): string {
  if (typeof raw !== 'string' || raw.trim() === '') return bad('a JSON-RPC URL such as "https://rpc.example.org"')
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return bad(`a JSON-RPC URL such as "https://rpc.example.org", got ${JSON.stringify(raw)}`)
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) {
    return bad(`an http, https, ws or wss URL, got the scheme "${url.protocol}"`)
  }
  return raw
}

/** Bootstrap addresses: multiaddrs that parse and end with `/p2p/<peer ID>`, at most `MAX_BOOTSTRAP_ADDRESSES`. */
function checkBootstrap(raw: unknown, bad: (problem: string) => never): string[] {
  if (!Array.isArray(raw)) return bad('"bootstrap" must be an array of multiaddrs ending in /p2p/<peer ID>')
  if (raw.length > MAX_BOOTSTRAP_ADDRESSES)
    bad(`lists ${raw.length} bootstrap addresses, at most ${MAX_BOOTSTRAP_ADDRESSES}`)
  return raw.map((entry, index) => {
    const problem = bootstrapProblem(entry)
    if (problem !== undefined) bad(`"bootstrap[${index}]" ${problem}`)
    return entry as string
  })
}

/**
 * Why `entry` is not a bootstrap address (a multiaddr ending in `/p2p/<peer ID>`), or undefined when it is one.
 *
 * @example
 * ```ts
 * bootstrapProblem('/ip4/203.0.113.7/tcp/4001') // 'must end with /p2p/<peer ID> ...'
 * ```
 */
export function bootstrapProblem(entry: unknown): string | undefined {
  if (typeof entry !== 'string' || entry === '') return `must be a multiaddr string, got ${JSON.stringify(entry)}`
  try {
    const last = multiaddr(entry).getComponents().at(-1)
    if (last?.name !== 'p2p' || last.value === undefined) {
      return `must end with /p2p/<peer ID> (the node's ID, printed in its ready line), got "${entry}"`
    }
  } catch {
    return `is not a multiaddr (such as /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW...), got "${entry}"`
  }
  return undefined
}

/**
 * Reads and checks a network file. A missing or unreadable file is a `NotFoundError`, a malformed one an
 * `InvalidArgumentError`, both naming the file.
 *
 * @example
 * ```ts
 * const network = await readNetworkFile('network.json')
 * const reader = createChainReader({ rpcUrl: network.rpc, chainId: network.chainId, contracts: network.contracts })
 * ```
 */
export async function readNetworkFile(path: string, options: { signal?: AbortSignal } = {}): Promise<NetworkFile> {
  let text: string
  try {
    const bytes = await readFile(path, options.signal === undefined ? {} : { signal: options.signal })
    if (bytes.byteLength > MAX_NETWORK_FILE_BYTES) {
      throw new InvalidArgumentError(`the network file ${path} is larger than 1 MiB: it is not a network file`)
    }
    text = bytes.toString('utf8')
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err
    const code = (err as NodeJS.ErrnoException).code
    throw new NotFoundError(
      code === 'ENOENT'
        ? `no network file at ${path}: pass --network FILE (the network.json of the network to join; "cairn network deploy" writes one)`
        : `cannot read the network file ${path} (${code ?? (err as Error).message})`,
      { cause: err },
    )
  }
  return parseNetworkFile(text, path)
}

/**
 * The network file's JSON text (the deployment block as decimal text, so that no reader loses precision).
 *
 * @example
 * ```ts
 * await writeFile('network.json', formatNetworkFile(network))
 * ```
 */
export function formatNetworkFile(network: NetworkFile): string {
  const { deploymentBlock, epochSeconds, ...rest } = network
  return `${JSON.stringify(
    {
      format: rest.format,
      name: rest.name,
      chainId: rest.chainId,
      rpc: (rest.rpcFallbacks ?? []).length === 0 ? rest.rpc : [rest.rpc, ...rest.rpcFallbacks!],
      contracts: rest.contracts,
      deploymentBlock: deploymentBlock.toString(),
      ...(epochSeconds === undefined ? {} : { epochSeconds }),
      bootstrap: rest.bootstrap,
      allowPrivateAddresses: rest.allowPrivateAddresses,
      ...((rest.iceServers ?? []).length === 0 ? {} : { iceServers: rest.iceServers }),
    },
    null,
    2,
  )}\n`
}

/**
 * Checks `network` as a reader would, then writes it durably (temp file, fsync, rename, fsync folder; mode 0644: it
 * holds nothing secret).
 *
 * @example
 * ```ts
 * await writeNetworkFile('network.json', { format: 1, name: 'testnet', chainId, rpc, contracts, deploymentBlock,
 *   bootstrap: [], allowPrivateAddresses: false })
 * ```
 */
export async function writeNetworkFile(path: string, network: NetworkFile): Promise<void> {
  const text = formatNetworkFile(network)
  parseNetworkFile(text, path)
  await writeFileDurable(path, text, 0o644)
}
