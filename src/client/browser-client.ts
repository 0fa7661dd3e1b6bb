/**
 * The client in a web page: given the network file's contents and a dial-only host (src/net/browser-host.ts in a
 * page), it reads files straight from storage nodes. The manifest and pieces come over the host, every piece is
 * checked against its CID, and decoding and decryption run in the page (src/storage's decodeFile): no gateway sees
 * the key or a byte of the file.
 *
 * This module and what it imports stay free of Node built-ins (a bundle for the browser takes it as its entry): the
 * host comes in as a component, so src/net's node-only parts (TCP, mDNS, the DHT) never reach the page.
 */
import type { CID } from 'multiformats/cid'
import { iceServersProblem, MAX_RPC_URLS } from '../chain/index.ts'
import { InvalidArgumentError, UnreachableError } from '../errors.ts'
import type { SlotAcceptanceAnswer, SlotAcceptanceRequest } from '../net/index.ts'
import type { AbortOptions, PeerView } from '../node/index.ts'
import { pageNodeAddresses } from './browser-node-directory.ts'
import type { ClientContext } from './client-context.ts'
import {
  DEFAULT_ENCODE_WORKERS,
  DEFAULT_GET_CONCURRENCY,
  DEFAULT_GET_HEDGE_MS,
  DEFAULT_PIECE_TIMEOUT_MS,
  DEFAULT_PROBE_TIMEOUT_MS,
  DEFAULT_PUT_CONCURRENCY,
  DEFAULT_PUT_MAX_IN_FLIGHT_BYTES,
  DEFAULT_SLOT_ATTEMPTS,
} from './constants.ts'
import { getFile } from './get.ts'
import type { ClientNetwork, FileRecord, FileRecordStore, GetInit } from './interface.ts'

/** What a page's client needs of its libp2p host (src/net/browser-host.ts's BrowserHost has all of it). */
export interface BrowserClientHost {
  readonly peerId: string
  /** Dials a multiaddr ending in `/p2p/<peer ID>`; resolves with the connection's remote peer. */
  dial(address: string, options?: AbortOptions): Promise<{ remotePeer: { toString(): string } }>
  storePiece(peer: string, cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void>
  fetchPiece(peer: string, cid: CID, options?: AbortOptions): Promise<Uint8Array>
  hasPieces(peer: string, cids: CID[], options?: AbortOptions): Promise<boolean[]>
  /** Upload reservations and slot acceptances (`/cairn/slot-accept/1.0.0`): a put from the page needs them. */
  slotAcceptance(peer: string, request: SlotAcceptanceRequest, options?: AbortOptions): Promise<SlotAcceptanceAnswer>
}

/** The parts of a network file (network.json) a page uses. */
export interface BrowserNetwork {
  chainId: number
  /** The chain's JSON-RPC endpoint (the first of the file's `"rpc"`, which may be a list). */
  rpc: string
  /** The file's other endpoints, tried in order when `rpc` fails; empty with one endpoint. */
  rpcFallbacks?: string[]
  contracts: Record<string, string>
  /** Multiaddrs ending in `/p2p/<peer ID>`; the page dials those of a transport it has (ws, webrtc-direct). */
  bootstrap: string[]
  allowPrivateAddresses: boolean
  /** STUN servers for relay-signalled WebRTC (pass them to `createBrowserHost`); absent: none. */
  iceServers?: string[]
}

export interface BrowserClientComponents {
  host: BrowserClientHost
}

export interface BrowserClientInit {
  /** The network file's contents: its JSON text or the parsed object. */
  network: string | object
  /**
   * Transports tried per node, in order (a node is dialled once). Default: ws, then webrtc-direct, then webrtc
   * (signalled through a relay: nodes behind NAT).
   */
  transports?: readonly string[]
  /** Also find nodes in the Registry (through the network file's RPC). Default true. */
  registry?: boolean
  /** Most nodes dialled by `connect` (MAX_PAGE_NODES); the others are dialled when a get or put first needs them. */
  maxNodes?: number
  getConcurrency?: number
  hedgeAfterMs?: number
  pieceTimeoutMs?: number
  probeTimeoutMs?: number
}

/** A page's client: the nodes it reached and a get that runs wholly in the page. */
export interface BrowserClient {
  readonly network: BrowserNetwork
  /** Dials every node of the network file (once per node, first transport that works); returns the nodes reached. */
  connect(options?: AbortOptions): Promise<PeerView[]>
  /** The nodes reached by the last `connect`. */
  nodes(): PeerView[]
  /** Reads the file of a full capability (`cairn:<cid>#<key>`), yielding its plaintext in order. */
  get(capability: string, init?: GetInit, options?: AbortOptions): AsyncGenerator<Uint8Array>
  /** What put and get share (putFromPage in browser-put.ts takes it). */
  readonly context: ClientContext
}

const DEFAULT_BROWSER_TRANSPORTS = ['ws', 'webrtc-direct', 'webrtc']
/** Most nodes a page dials when it connects (the others, e.g. a file's holders, are dialled when first used). */
export const MAX_PAGE_NODES = 64

/**
 * Creates a page's client over `components.host`.
 *
 * @example
 * ```ts
 * const host = await createBrowserHost({ allowPrivateAddresses: true })
 * const client = createBrowserClient({ host }, { network: await (await fetch('network.json')).text() })
 * await client.connect()
 * for await (const chunk of client.get(capability)) chunks.push(chunk)
 * ```
 */
export function createBrowserClient(components: BrowserClientComponents, init: BrowserClientInit): BrowserClient {
  const network = parseBrowserNetwork(init.network)
  const { host } = components
  const transports = init.transports ?? DEFAULT_BROWSER_TRANSPORTS
  let reached: PeerView[] = []
  // every node found at the last connect, and the dials made to the ones not dialled then (a file's holders)
  let directory = new Map<string, string[]>()
  const dialled = new Map<string, Promise<unknown>>()
  const dialNode = async (
    peerId: string,
    addresses: string[],
    options: AbortOptions,
  ): Promise<PeerView | undefined> => {
    for (const address of addresses) {
      try {
        await host.dial(address, options)
        return { peerId, state: 'alive', lastSeenMs: 0, multiaddrs: [address], direct: true }
      } catch {}
    }
    return undefined
  }
  const unreached = (): PeerView[] =>
    [...directory.keys()]
      .filter((peerId) => !reached.some((p) => p.peerId === peerId))
      .slice(0, MAX_PAGE_NODES)
      .map((peerId) => ({ peerId, state: 'suspect', lastSeenMs: 0, multiaddrs: directory.get(peerId)!, direct: false }))
  /** Dials a node not reached at connect once, on its first use; a node the page cannot dial is left to the host. */
  const reach = async (peer: string, options: AbortOptions = {}): Promise<void> => {
    if (reached.some((p) => p.peerId === peer)) return
    const addresses = directory.get(peer)
    if (addresses === undefined) return
    let dialling = dialled.get(peer)
    if (dialling === undefined) {
      dialling = dialNode(peer, addresses, options).then((view) => {
        if (view === undefined) dialled.delete(peer)
        else if (!reached.some((p) => p.peerId === peer)) reached = [...reached, view]
        return view
      })
      dialled.set(peer, dialling)
    }
    await dialling
  }
  const clientNetwork: ClientNetwork = {
    peerId: host.peerId,
    storePiece: async (peer, cid, bytes, options) => {
      await reach(peer, options)
      return host.storePiece(peer, cid, bytes, options)
    },
    fetchPiece: async (peer, cid, options) => {
      await reach(peer, options)
      return host.fetchPiece(peer, cid, options)
    },
    hasPieces: async (peer, cids, options) => {
      await reach(peer, options)
      return host.hasPieces(peer, cids, options)
    },
    peers: () => reached,
    slotAcceptance: async (peer, request, options) => {
      await reach(peer, options)
      return host.slotAcceptance(peer, request, options)
    },
  }
  const context: ClientContext = {
    network: clientNetwork,
    records: memoryRecords(),
    // a get also asks the nodes found but not dialled (as suspect: a put stores only on nodes it reached)
    nodes: async () => [...reached, ...unreached()],
    putConcurrency: DEFAULT_PUT_CONCURRENCY,
    putMaxInFlightBytes: DEFAULT_PUT_MAX_IN_FLIGHT_BYTES,
    slotAttempts: DEFAULT_SLOT_ATTEMPTS,
    getConcurrency: init.getConcurrency ?? DEFAULT_GET_CONCURRENCY,
    hedgeAfterMs: init.hedgeAfterMs ?? DEFAULT_GET_HEDGE_MS,
    pieceTimeoutMs: init.pieceTimeoutMs ?? DEFAULT_PIECE_TIMEOUT_MS,
    probeTimeoutMs: init.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
    segmentSize: undefined,
    encodeWorkers: DEFAULT_ENCODE_WORKERS,
  }
  return {
    network,
    context,
    async connect(options = {}) {
      directory = await pageNodeAddresses(network, transports, {
        ...options,
        ...(init.registry === undefined ? {} : { registry: init.registry }),
      })
      const chosen = [...directory].slice(0, init.maxNodes ?? MAX_PAGE_NODES)
      const views = await Promise.all(chosen.map(([peerId, addresses]) => dialNode(peerId, addresses, options)))
      reached = views.filter((v) => v !== undefined)
      if (reached.length === 0) {
        throw new UnreachableError(
          `none of the ${chosen.length} nodes of the network file and the Registry answered over ${transports.join(' or ')}: check that they run and that their WebSocket or WebRTC ports are reachable from this page`,
        )
      }
      return reached
    },
    nodes: () => reached,
    get: (capability, getInit = {}, options = {}) => getFile(context, capability, getInit, options),
  }
}

/**
 * Checks the parts of a network file a page uses and names what is wrong (the full check is src/chain's
 * parseNetworkFile, which reads files and stays in Node).
 *
 * @example
 * ```ts
 * const network = parseBrowserNetwork(await (await fetch('network.json')).text())
 * ```
 */
export function parseBrowserNetwork(input: string | object): BrowserNetwork {
  let value: unknown = input
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input)
    } catch (cause) {
      throw new InvalidArgumentError(
        `the network file is not JSON (${(cause as Error).message}): pass the contents of network.json`,
        { cause },
      )
    }
  }
  const file = value as Partial<Record<keyof BrowserNetwork, unknown>>
  const problem = (what: string) =>
    new InvalidArgumentError(`the network file ${what}: pass the contents of the network's network.json`)
  if (typeof file !== 'object' || file === null) throw problem('is not an object')
  if (!Array.isArray(file.bootstrap) || file.bootstrap.some((a) => typeof a !== 'string' || !/\/p2p\/\w+$/.test(a))) {
    throw problem('needs "bootstrap": a list of multiaddrs ending in /p2p/<peer ID>')
  }
  if (typeof file.chainId !== 'number' || !Number.isSafeInteger(file.chainId)) throw problem('needs a "chainId"')
  const rpc = typeof file.rpc === 'string' ? [file.rpc] : file.rpc
  if (
    !Array.isArray(rpc) ||
    rpc.length === 0 ||
    rpc.length > MAX_RPC_URLS ||
    rpc.some((url) => typeof url !== 'string' || !/^(https?|wss?):\/\//.test(url))
  ) {
    throw problem(`needs an "rpc" URL (http, https, ws or wss), or a list of 1 to ${MAX_RPC_URLS} of them`)
  }
  if (typeof file.contracts !== 'object' || file.contracts === null) throw problem('needs "contracts"')
  const iceProblem = file.iceServers === undefined ? undefined : iceServersProblem(file.iceServers)
  if (iceProblem !== undefined) throw problem(`"iceServers" ${iceProblem}`)
  return {
    chainId: file.chainId,
    rpc: rpc[0] as string,
    rpcFallbacks: rpc.slice(1) as string[],
    contracts: file.contracts as Record<string, string>,
    bootstrap: file.bootstrap as string[],
    allowPrivateAddresses: file.allowPrivateAddresses === true,
    ...(file.iceServers === undefined ? {} : { iceServers: [...(file.iceServers as string[])] }),
  }
}

/** The page keeps no record of files between loads: the capability is the record. */
function memoryRecords(): FileRecordStore {
  const records = new Map<string, FileRecord>()
  return {
    add: async (record) => void records.set(record.manifestCid, record),
    find: async (manifestCid) => records.get(manifestCid),
    list: async () => [...records.values()],
    forget: async (manifestCid) => records.delete(manifestCid),
  }
}
