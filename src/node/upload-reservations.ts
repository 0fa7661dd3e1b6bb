/**
 * A storage node's upload reservations: a peer may store pieces here only within the bytes it reserved, until its
 * reservation expires (issue 12, finding 4). Each reservation has a holder whose quotas it counts against: the paying
 * account of the upload ticket it was granted for (on chain), else the peer itself (off chain, or a staked node
 * repairing). Pieces arrive only from the peer that presented it, so more peer keys of one account make no more room.
 * Reservations live in memory, bounded in count; the room they may take comes from the node's free space (its quota
 * left, capped by the disk's free bytes). Pieces stored under a reservation that expired are listed in
 * `unclaimedPieces()`; on chain the garbage collector deletes every piece no kept slot refers to once it is older
 * than its grace period (a day), which frees the pieces of a ticket that expired without a deal.
 */
import { CID } from 'multiformats/cid'
import { monotonicNow } from './monotonic-clock.ts'

/** Longest reservation a node grants (a longer request gets this). */
export const MAX_RESERVATION_SECONDS = 3_600
/** Most live reservations a node keeps (all peers). */
export const MAX_RESERVATIONS = 10_000
/** Most live reservations of one holder (a peer, or an account whatever peers present its tickets). */
export const MAX_RESERVATIONS_PER_PEER = 64
/** Share of the node's free space one holder may hold reserved at once. */
export const DEFAULT_PEER_RESERVATION_SHARE = 0.5
/** Most CIDs remembered per reservation, and in the unclaimed list. */
export const MAX_RESERVATION_PIECES = 65_536
export const MAX_UNCLAIMED_PIECES = 100_000

export interface UploadReservationsInit {
  /** Bytes this node can still take (quota left, capped by the disk's free space). */
  freeSpace: () => number
  /** Share of the free space one peer may reserve (default DEFAULT_PEER_RESERVATION_SHARE). */
  peerShare?: number
  /** Monotonic clock in ms (tests; default `performance.now()`): reservations end after their seconds, whatever the wall clock does. */
  now?: () => number
}

interface Reservation {
  /** The peer that presented it: the only one whose pieces count against it. */
  peer: string
  /** Whose quotas it counts against: `account:0x...` or `peer:<id>`. */
  holder: string
  bytes: number
  used: number
  /** When it ends, on the monotonic clock (`now`). */
  endsAt: number
  pieces: string[]
}

/** A piece stored under a reservation that expired: the GC deletes it unless an accepted slot refers to it. */
export interface UnclaimedPiece {
  cid: string
  peer: string
  /** When its reservation ended (wall clock, ms since the Unix epoch). */
  expiredAt: number
}

export type ReserveAnswer =
  | { type: 'reserve-response'; granted: true; bytes: number; expiresAt: number }
  | { type: 'reserve-response'; granted: false; reason: string }

/** The reservations of one node. */
export class UploadReservations {
  readonly #init: UploadReservationsInit
  readonly #byPeer = new Map<string, Reservation[]>()
  readonly #byHolder = new Map<string, Reservation[]>()
  readonly #unclaimed: UnclaimedPiece[] = []
  /** Peers whose live reservation carries a piece, by the piece's multihash (any codec of it). */
  readonly #carriers = new Map<string, Set<string>>()
  #count = 0

  constructor(init: UploadReservationsInit) {
    this.#init = init
  }

  #now(): number {
    return this.#init.now?.() ?? monotonicNow()
  }

  /**
   * Grants `peer` room for `bytes` for `seconds` (at most an hour), or says why not. With `account` (the signer of the
   * upload ticket the peer presented) the quotas are the account's, whichever peers present its tickets.
   */
  reserve(peer: string, bytes: number, seconds: number, account?: string): ReserveAnswer {
    const refuse = (reason: string): ReserveAnswer => ({ type: 'reserve-response', granted: false, reason })
    if (!Number.isSafeInteger(bytes) || bytes <= 0) return refuse(`cannot reserve ${bytes} bytes`)
    if (!Number.isInteger(seconds) || seconds <= 0) return refuse(`cannot reserve for ${seconds} seconds`)
    const now = this.#now()
    this.#sweep(now)
    const holder = account === undefined ? `peer:${peer}` : `account:${account.toLowerCase()}`
    const who = account === undefined ? 'a peer' : `account ${account}`
    const own = this.#byHolder.get(holder) ?? []
    if (own.length >= MAX_RESERVATIONS_PER_PEER) {
      const name = account === undefined ? 'peer' : `account ${account}`
      return refuse(`${name} holds ${own.length} live reservations (at most ${MAX_RESERVATIONS_PER_PEER})`)
    }
    if (this.#count >= MAX_RESERVATIONS) return refuse(`the node holds ${this.#count} reservations: try later`)
    const free = Math.max(0, this.#init.freeSpace())
    let reserved = 0
    for (const list of this.#byPeer.values()) for (const r of list) reserved += r.bytes - r.used
    // An account's share counts what its live reservations stored too: more keys, or reserving again after filling,
    // make no more room. (A peer's counts only what is unused, as before tickets.)
    const mine = own.reduce((sum, r) => sum + r.bytes - (account === undefined ? r.used : 0), 0)
    if (reserved + bytes > free) {
      return refuse(`only ${Math.max(0, free - reserved)} bytes free to reserve, asked ${bytes} (size over free quota)`)
    }
    const cap = Math.floor(free * (this.#init.peerShare ?? DEFAULT_PEER_RESERVATION_SHARE))
    if (mine + bytes > cap) return refuse(`${who} may reserve at most ${cap} bytes here, asked ${mine + bytes}`)
    const lifetimeMs = Math.min(seconds, MAX_RESERVATION_SECONDS) * 1000
    const reservation = { peer, holder, bytes, used: 0, endsAt: now + lifetimeMs, pieces: [] }
    own.push(reservation)
    this.#byHolder.set(holder, own)
    this.#byPeer.set(peer, [...(this.#byPeer.get(peer) ?? []), reservation])
    this.#count++
    return { type: 'reserve-response', granted: true, bytes, expiresAt: Date.now() + lifetimeMs }
  }

  /** Counts piece `cid` of `bytes` from `peer` against its live reservations; returns the refusal when it has none. */
  admit(peer: string, cid: CID, bytes: number): { refused: 'unreserved' | 'full'; message: string } | undefined {
    this.#sweep(this.#now())
    const own = this.#byPeer.get(peer)
    if (own === undefined || own.length === 0) {
      return {
        refused: 'unreserved',
        message: `no upload reservation for peer ${peer}: reserve room on /cairn/slot-accept/1.0.0 before storing pieces`,
      }
    }
    const room = own.find((r) => r.bytes - r.used >= bytes)
    if (room === undefined) {
      const left = own.reduce((sum, r) => Math.max(sum, r.bytes - r.used), 0)
      return {
        refused: 'full',
        message: `the upload reservation of peer ${peer} has ${left} bytes left, the piece has ${bytes}: reserve more`,
      }
    }
    room.used += bytes
    if (room.pieces.length < MAX_RESERVATION_PIECES) {
      room.pieces.push(cid.toString())
      const key = multihashKey(cid)
      let peers = this.#carriers.get(key)
      if (peers === undefined) this.#carriers.set(key, (peers = new Set()))
      peers.add(peer)
    }
    return undefined
  }

  /**
   * The peers that stored piece `cid` (any codec of its multihash: a manifest's dag-cbor CID finds its raw piece)
   * under a reservation that is still live: how a node tells a manifest a repairer sent it from one a stranger sent.
   */
  storedUnder(cid: CID): string[] {
    this.#sweep(this.#now())
    return [...(this.#carriers.get(multihashKey(cid)) ?? [])]
  }

  /** Pieces stored under reservations that expired (oldest first), for the garbage collector. */
  unclaimedPieces(): UnclaimedPiece[] {
    this.#sweep(this.#now())
    return [...this.#unclaimed]
  }

  /** Bytes still reserved and unused by `peer` (0 without a live reservation). */
  reservedBy(peer: string): number {
    this.#sweep(this.#now())
    return (this.#byPeer.get(peer) ?? []).reduce((sum, r) => sum + r.bytes - r.used, 0)
  }

  /** Bytes reserved (used or not) by live reservations of `account`'s tickets, whichever peers presented them. */
  reservedForAccount(account: string): number {
    this.#sweep(this.#now())
    return (this.#byHolder.get(`account:${account.toLowerCase()}`) ?? []).reduce((sum, r) => sum + r.bytes, 0)
  }

  #sweep(now: number): void {
    for (const [holder, list] of this.#byHolder) {
      const live = list.filter((r) => r.endsAt > now)
      if (live.length === list.length) continue
      if (live.length === 0) this.#byHolder.delete(holder)
      else this.#byHolder.set(holder, live)
    }
    for (const [peer, list] of this.#byPeer) {
      const live = list.filter((r) => r.endsAt > now)
      if (live.length === list.length) continue
      const stillCarried = new Set(live.flatMap((r) => r.pieces))
      for (const r of list) {
        if (r.endsAt > now) continue
        for (const cid of r.pieces) {
          this.#unclaimed.push({ cid, peer, expiredAt: Date.now() - (now - r.endsAt) })
          if (!stillCarried.has(cid)) this.#forget(cid, peer)
        }
      }
      this.#count -= list.length - live.length
      if (live.length === 0) this.#byPeer.delete(peer)
      else this.#byPeer.set(peer, live)
    }
    if (this.#unclaimed.length > MAX_UNCLAIMED_PIECES) {
      this.#unclaimed.splice(0, this.#unclaimed.length - MAX_UNCLAIMED_PIECES)
    }
  }

  /** Drops `peer` as a carrier of piece `text` (none of its live reservations carries it). */
  #forget(text: string, peer: string): void {
    const key = multihashKey(CID.parse(text))
    const peers = this.#carriers.get(key)
    peers?.delete(peer)
    if (peers?.size === 0) this.#carriers.delete(key)
  }
}

/** A CID's multihash as text: the same key for the raw piece and the dag-cbor manifest CID of one manifest. */
function multihashKey(cid: CID): string {
  return Buffer.from(cid.multihash.bytes).toString('hex')
}
