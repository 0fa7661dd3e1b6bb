/**
 * An in-process stand-in for src/net's Network, for client tests: each peer is a real in-memory piece store, and
 * faults (refusing stores, serving flipped bytes, being down) are switched per peer. Like the real network,
 * fetchPiece verifies bytes against the CID and throws CorruptDataError.
 */
import type { CID } from 'multiformats/cid'
import type { ClientNetwork } from '../../src/client/index.ts'
import {
  CorruptDataError,
  InvalidArgumentError,
  NotFoundError,
  QuotaExceededError,
  UnreachableError,
} from '../../src/errors.ts'
import type { SlotAcceptanceAnswer, SlotAcceptanceRequest } from '../../src/net/index.ts'
import type { PeerView } from '../../src/node/index.ts'
import { UploadReservations } from '../../src/node/upload-reservations.ts'
import { createMemoryPieceStore, type PieceStore, pieceCid } from '../../src/storage/index.ts'

export interface FakePeer {
  peerId: string
  store: PieceStore
  address: string
  down: boolean
  /** Stores fail once this many have succeeded. */
  failStoresAfter: number
  corruptReads: boolean
  stores: number
  fetches: number
  /** The node's upload gate, as a real node keeps it (free space: `freeSpace`). */
  reservations: UploadReservations
  freeSpace: number
  /** Reservation requests it answered. */
  reserves: number
}

export class FakeNetwork implements ClientNetwork {
  readonly peerId = 'client'
  readonly nodes = new Map<string, FakePeer>()

  constructor(count: number, addressOf: (i: number) => string = (i) => `/ip4/10.0.${i}.1/tcp/4001`) {
    for (let i = 0; i < count; i++) {
      const peerId = `peer-${i}`
      this.nodes.set(peerId, {
        peerId,
        store: createMemoryPieceStore(),
        address: addressOf(i),
        down: false,
        failStoresAfter: Number.POSITIVE_INFINITY,
        corruptReads: false,
        stores: 0,
        fetches: 0,
        reservations: new UploadReservations({ freeSpace: () => this.nodes.get(peerId)!.freeSpace }),
        freeSpace: 10 ** 12,
        reserves: 0,
      })
    }
  }

  node(peerId: string): FakePeer {
    const node = this.nodes.get(peerId)
    if (node === undefined) throw new UnreachableError(`unknown peer ${peerId}`)
    return node
  }

  #reachable(peerId: string): FakePeer {
    const node = this.node(peerId)
    if (node.down) throw new UnreachableError(`cannot open a piece stream to ${peerId}`)
    return node
  }

  async storePiece(peer: string, cid: CID, bytes: Uint8Array): Promise<void> {
    const node = this.#reachable(peer)
    if (node.stores >= node.failStoresAfter) throw new UnreachableError(`storing a piece with ${peer} failed: reset`)
    if (!pieceCid(bytes).equals(cid)) throw new CorruptDataError(`peer ${peer} refused ${cid}`)
    const refusal = node.reservations.admit(this.peerId, cid, bytes.byteLength)
    if (refusal?.refused === 'unreserved') throw new InvalidArgumentError(`peer ${peer} refused: ${refusal.message}`)
    if (refusal?.refused === 'full') throw new QuotaExceededError(`peer ${peer} is full: ${refusal.message}`)
    await node.store.put(cid, bytes)
    node.stores++
  }

  async slotAcceptance(peer: string, request: SlotAcceptanceRequest): Promise<SlotAcceptanceAnswer> {
    const node = this.#reachable(peer)
    if (request.type === 'accept-request') {
      return { type: 'accept-response', granted: false, reason: 'a fake peer signs nothing' }
    }
    if (request.type === 'leaf-request') {
      return { type: 'leaf-response', granted: false, reason: 'a fake peer proves nothing' }
    }
    node.reserves++
    return node.reservations.reserve(this.peerId, request.bytes, request.seconds)
  }

  async fetchPiece(peer: string, cid: CID): Promise<Uint8Array> {
    const node = this.#reachable(peer)
    node.fetches++
    let bytes: Uint8Array
    try {
      bytes = await node.store.get(cid)
    } catch (err) {
      if (err instanceof NotFoundError) throw new NotFoundError(`peer ${peer} does not hold ${cid}`)
      throw err
    }
    if (node.corruptReads) {
      bytes = new Uint8Array(bytes)
      bytes[0] = bytes[0]! ^ 0xff
    }
    if (!pieceCid(bytes).equals(cid)) throw new CorruptDataError(`peer ${peer} sent bytes that do not hash to ${cid}`)
    return bytes
  }

  async hasPieces(peer: string, cids: CID[]): Promise<boolean[]> {
    const node = this.#reachable(peer)
    return await Promise.all(cids.map((cid) => node.store.has(cid)))
  }

  peers(): PeerView[] {
    return [...this.nodes.values()].map((n) => ({
      peerId: n.peerId,
      state: n.down ? 'dead' : 'alive',
      lastSeenMs: 0,
      multiaddrs: [n.address],
    }))
  }
}
