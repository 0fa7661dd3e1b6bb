/** `createClient`: the client's settings and parts wired into put, get and status over a network. */
import type { AbortOptions, PeerView } from '../node/index.ts'
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
import { createMemoryFileRecordStore } from './file-records.ts'
import { fileStatus } from './file-status.ts'
import { getFile } from './get.ts'
import type { Client, ClientNetwork, FileRecordStore, FileStatus, GetInit, PutInit, PutResult } from './interface.ts'
import { mergePeerViews } from './peer-views.ts'
import { putFile } from './put.ts'

export interface ClientComponents {
  network: ClientNetwork
  /** The client's record of files put; in memory when absent. */
  records?: FileRecordStore
  /**
   * Other views of the storage peers (e.g. the detector states a node's control API reports), merged with the
   * network's own view. Faster than waiting for heartbeats right after the client starts.
   */
  peerViews?: (options: AbortOptions) => Promise<PeerView[][]>
}

export interface ClientInit {
  /** Pieces in flight at once during a put. */
  putConcurrency?: number
  /** Bytes of piece data in flight at once during a put. */
  putMaxInFlightBytes?: number
  /** Nodes tried for one slot (the first and its replacements) before the put fails. */
  slotAttempts?: number
  /** Segments decoded in parallel during a get. */
  getConcurrency?: number
  /** A get request slower than this (ms) is raced by a request to another slot. */
  hedgeAfterMs?: number
  pieceTimeoutMs?: number
  probeTimeoutMs?: number
  /** Default segment size of puts (the storage layer's default when absent). */
  segmentSize?: number
  /** Worker threads that encode segments during a put (default 0: the calling thread). */
  encodeWorkers?: number
}

/**
 * Creates the client: put, get and status of files, over any network that can store, fetch and list pieces.
 *
 * @example
 * ```ts
 * const client = createClient({ network }, {})
 * const { capability } = await client.put([bytes], { k: 1, n: 3 })
 * for await (const chunk of client.get(capability)) process.stdout.write(chunk)
 * ```
 */
export function createClient(components: ClientComponents, init: ClientInit = {}): Client {
  return new NetworkClient(components, init)
}

class NetworkClient implements Client {
  readonly #network: ClientNetwork
  readonly #peerViews: ClientComponents['peerViews']
  readonly #context: ClientContext

  constructor(components: ClientComponents, init: ClientInit) {
    this.#network = components.network
    this.#peerViews = components.peerViews
    this.#context = {
      network: components.network,
      records: components.records ?? createMemoryFileRecordStore(),
      nodes: (options) => this.nodes(options),
      putConcurrency: init.putConcurrency ?? DEFAULT_PUT_CONCURRENCY,
      putMaxInFlightBytes: init.putMaxInFlightBytes ?? DEFAULT_PUT_MAX_IN_FLIGHT_BYTES,
      slotAttempts: init.slotAttempts ?? DEFAULT_SLOT_ATTEMPTS,
      getConcurrency: init.getConcurrency ?? DEFAULT_GET_CONCURRENCY,
      hedgeAfterMs: init.hedgeAfterMs ?? DEFAULT_GET_HEDGE_MS,
      pieceTimeoutMs: init.pieceTimeoutMs ?? DEFAULT_PIECE_TIMEOUT_MS,
      probeTimeoutMs: init.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
      segmentSize: init.segmentSize,
      encodeWorkers: init.encodeWorkers ?? DEFAULT_ENCODE_WORKERS,
    }
  }

  async nodes(options: AbortOptions = {}): Promise<PeerView[]> {
    const extra = this.#peerViews === undefined ? [] : await this.#peerViews(options)
    return mergePeerViews([this.#network.peers(), ...extra]).filter((p) => p.peerId !== this.#network.peerId)
  }

  put(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    init: PutInit = {},
    options: AbortOptions = {},
  ): Promise<PutResult> {
    return putFile(this.#context, source, init, options)
  }

  get(capability: string, init: GetInit = {}, options: AbortOptions = {}): AsyncGenerator<Uint8Array> {
    return getFile(this.#context, capability, init, options)
  }

  status(capability: string, options: AbortOptions = {}): Promise<FileStatus> {
    return fileStatus(this.#context, capability, options)
  }
}
