/** The slots of one put: placement on nodes, acknowledged pieces, retries and moving a slot to a spare node. */
import type { CID } from 'multiformats/cid'
import { AbortedError, InvalidArgumentError, NotEnoughNodesError, NotEnoughPiecesError } from '../errors.ts'
import { reserveUpload } from '../net/index.ts'
import type { PeerView, UploadTicketSigner } from '../node/index.ts'
import { createErasureCoder, type Manifest, manifestPieceCid, rebuildPiece } from '../storage/index.ts'
import { errorMessage } from './error-message.ts'
import type { ClientNetwork, ClientProgressEvent, SlotPlacement } from './interface.ts'

/**
 * Bytes a put first reserves on a node (more when one piece is larger; less when the node has less room). Each
 * further reservation on the same node asks for twice the previous one, up to UPLOAD_RESERVATION_MAX_BYTES: a node
 * keeps at most 64 live reservations per account, so a flat 16 MiB stopped a 1 GiB put at its 64th reservation.
 */
export const UPLOAD_RESERVATION_BYTES = 16 * 1024 * 1024
/** Largest reservation a put asks for at once. */
export const UPLOAD_RESERVATION_MAX_BYTES = 1024 * 1024 * 1024
/** Lifetime a put asks for its reservations; one ending within RESERVATION_MARGIN_MS is renewed first. */
export const UPLOAD_RESERVATION_SECONDS = 600
export const RESERVATION_MARGIN_MS = 60_000

export interface SlotUploadInit {
  /** Nodes tried for one slot (the first and its replacements) before the put fails. */
  attempts: number
  /** Deadline of one piece request (ms). */
  timeoutMs: number
  onProgress: ((event: ClientProgressEvent) => void) | undefined
  signal: AbortSignal | undefined
  /** Signs each reservation's upload ticket with the paying wallet (nodes on chain need one); absent: none sent. */
  uploadTicket?: UploadTicketSigner | undefined
}

/**
 * The slots of one put: which node holds each slot, which pieces it acknowledged, and moving a slot to a spare node
 * when its node fails (the pieces it had acknowledged are then rebuilt from the other slots and sent again).
 */
export class SlotUpload {
  readonly #network: ClientNetwork
  readonly #holders: string[]
  readonly #spares: string[]
  readonly #attemptsLeft: number[]
  readonly #retryWait: Array<Promise<void> | undefined> = []
  /** `#acked[slot]`: segment -> the peer that acknowledged that piece. */
  readonly #acked: Array<Map<number, string>>
  readonly #init: SlotUploadInit
  readonly #controller = new AbortController()
  readonly #signal: AbortSignal
  /** Per node: bytes of this upload's reservation not used yet and when it ends (one request at a time per node). */
  readonly #reservations = new Map<string, Promise<{ left: number; expiresAt: number }>>()
  /** Per node: the size of the next reservation this upload asks for. */
  readonly #reservationAsk = new Map<string, number>()
  #failure: Error | undefined

  /** `ordered`: the nodes in placement order; the first `n` hold the slots, the others are spares. */
  constructor(network: ClientNetwork, ordered: PeerView[], n: number, init: SlotUploadInit) {
    this.#network = network
    this.#holders = ordered.slice(0, n).map((p) => p.peerId)
    this.#spares = ordered.slice(n).map((p) => p.peerId)
    this.#attemptsLeft = this.#holders.map(() => init.attempts - 1)
    this.#acked = this.#holders.map(() => new Map())
    this.#init = init
    this.#signal =
      init.signal === undefined ? this.#controller.signal : AbortSignal.any([init.signal, this.#controller.signal])
  }

  placement(): SlotPlacement[] {
    return this.#holders.map((peerId, index) => ({ index, peerId }))
  }

  signalOption(): { signal: AbortSignal } {
    return { signal: this.#signal }
  }

  failure(): Error | undefined {
    return this.#failure
  }

  throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure
    if (this.#signal.aborted) throw new AbortedError('the put was cancelled', { cause: this.#signal.reason })
  }

  abort(err: unknown): void {
    this.#failure ??= err instanceof Error ? err : new Error(String(err))
    this.#controller.abort(err)
  }

  /**
   * Stores piece `slot` of `segment` on the slot's node, moving the slot on failure. Never rejects. Resolves true
   * when the first attempt stored it (no stream that failed midway may still hold its bytes).
   */
  async storeEncodedPiece(piece: { segment: number; slot: number; cid: CID; bytes: Uint8Array }): Promise<boolean> {
    let clean = true
    try {
      while (true) {
        const peer = this.#holders[piece.slot]!
        try {
          await this.#store(peer, piece.cid, piece.bytes)
          if (this.#holders[piece.slot] === peer) {
            this.#acked[piece.slot]!.set(piece.segment, peer)
            this.#init.onProgress?.({
              type: 'put:piece',
              segment: piece.segment,
              slot: piece.slot,
              peerId: peer,
              bytes: piece.bytes.byteLength,
            })
            return clean
          }
          // The slot moved while this piece was in flight: send it to the new node.
          clean = false
        } catch (err) {
          clean = false
          this.throwIfFailed()
          await this.#moveSlot(piece.slot, peer, err)
        }
      }
    } catch (err) {
      this.abort(err)
      return false
    }
  }

  /**
   * Moves every slot whose node `isActive` no longer accepts (jailed or gone from the Registry during the upload) to
   * an active spare; `finish` then rebuilds its pieces there. Throws NotEnoughNodesError when no active spare is left.
   */
  replaceInactive(isActive: (peerId: string) => boolean): void {
    this.#holders.forEach((peer, slot) => {
      if (isActive(peer)) return
      let next = this.#spares.shift()
      while (next !== undefined && !isActive(next)) next = this.#spares.shift()
      if (next === undefined) {
        throw new NotEnoughNodesError(
          `node ${peer} holds slot ${slot} but is no longer an active node of the Registry (jailed or unstaked during the upload) and no active spare node is left: put again`,
        )
      }
      this.#holders[slot] = next
      const error = `node ${peer} is no longer an active node of the Registry`
      this.#init.onProgress?.({ type: 'put:retry', slot, from: peer, to: next, error })
    })
  }

  /** After the encoder is done: rebuild what moved slots miss, then store the manifest on every slot's node. */
  async finish(manifest: Manifest, manifestCid: CID, manifestBytes: Uint8Array): Promise<void> {
    const manifestCidRaw = manifestPieceCid(manifestCid)
    const coder = manifest.k > 1 ? createErasureCoder({ k: manifest.k, n: manifest.n }) : undefined
    await Promise.all(
      this.#holders.map(async (_, slot) => {
        while (true) {
          const peer = this.#holders[slot]!
          try {
            for (let segment = 0; segment < manifest.segments.length; segment++) {
              if (this.#acked[slot]!.get(segment) === peer) continue
              const bytes = await this.#rebuild(manifest, segment, slot, coder)
              await this.#store(peer, manifest.segments[segment]!.pieces[slot]!, bytes)
              this.#acked[slot]!.set(segment, peer)
            }
            await this.#store(peer, manifestCidRaw, manifestBytes)
            return
          } catch (err) {
            this.throwIfFailed()
            if (err instanceof NotEnoughPiecesError) throw err
            await this.#moveSlot(slot, peer, err)
          }
        }
      }),
    )
  }

  async #store(peer: string, cid: CID, bytes: Uint8Array): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      this.throwIfFailed()
      await this.#reserve(peer, bytes.byteLength)
      try {
        await this.#network.storePiece(peer, cid, bytes, {
          signal: AbortSignal.any([this.#signal, AbortSignal.timeout(this.#init.timeoutMs)]),
        })
        return
      } catch (err) {
        // The node lost our reservation (it restarted, say): reserve again once.
        if (attempt > 0 || !/no upload reservation/.test(errorMessage(err))) throw err
        this.#reservations.delete(peer)
      }
    }
  }

  /**
   * Makes sure this upload holds room for `bytes` more on `peer` (`/cairn/slot-accept/1.0.0` reserve): asks for
   * UPLOAD_RESERVATION_BYTES first and twice as much each time after (half after a refusal), or exactly `bytes`
   * when the node refuses. Throws QuotaExceededError
   * naming the node and its reason when it refuses.
   */
  async #reserve(peer: string, bytes: number): Promise<void> {
    const previous = this.#reservations.get(peer) ?? Promise.resolve({ left: 0, expiresAt: 0 })
    const next = previous
      .catch(() => ({ left: 0, expiresAt: 0 }))
      .then(async (held) => {
        if (held.left >= bytes && held.expiresAt - Date.now() > RESERVATION_MARGIN_MS) {
          return { ...held, left: held.left - bytes }
        }
        const options = { signal: AbortSignal.any([this.#signal, AbortSignal.timeout(this.#init.timeoutMs)]) }
        const ask = async (size: number) => {
          const request = { bytes: size, seconds: UPLOAD_RESERVATION_SECONDS }
          const ticket = await this.#init.uploadTicket?.(peer, request)
          return reserveUpload(this.#network, peer, { ...request, ticket }, options)
        }
        const wanted = Math.max(bytes, this.#reservationAsk.get(peer) ?? UPLOAD_RESERVATION_BYTES)
        let refused = false
        const granted = await ask(wanted).catch((err) => {
          if (wanted <= bytes || this.#signal.aborted) throw err
          refused = true
          return ask(bytes)
        })
        const nextAsk = refused ? wanted / 2 : wanted * 2
        this.#reservationAsk.set(
          peer,
          Math.min(Math.max(nextAsk, UPLOAD_RESERVATION_BYTES), UPLOAD_RESERVATION_MAX_BYTES),
        )
        return { left: granted.bytes - bytes, expiresAt: granted.expiresAt }
      })
    this.#reservations.set(peer, next)
    await next
  }

  /**
   * After `failed` could not store a piece of `slot`: moves the slot to a spare node, or, when no spare is left,
   * lets the caller retry the same node (a transient failure). Throws when the slot is out of attempts.
   */
  async #moveSlot(slot: number, failed: string, err: unknown): Promise<void> {
    if (this.#holders[slot] !== failed) return // another piece of this slot already moved it
    const pending = this.#retryWait[slot]
    if (pending !== undefined) return await pending // pieces failing together count as one failure
    const left = this.#attemptsLeft[slot]!
    if (left <= 0 || err instanceof InvalidArgumentError) {
      throw new NotEnoughNodesError(
        `node ${failed} failed to store slot ${slot} (${errorMessage(err)}) and the slot ran out of retries: check the node or lower --n`,
        { cause: err },
      )
    }
    this.#attemptsLeft[slot] = left - 1
    const next = this.#spares.shift()
    if (next === undefined) {
      this.#init.onProgress?.({ type: 'put:retry', slot, from: failed, to: failed, error: errorMessage(err) })
      const wait = new Promise<void>((resolve) => setTimeout(resolve, 1_000))
      this.#retryWait[slot] = wait
      await wait
      this.#retryWait[slot] = undefined
      return
    }
    this.#holders[slot] = next
    this.#init.onProgress?.({ type: 'put:retry', slot, from: failed, to: next, error: errorMessage(err) })
  }

  /**
   * Piece `slot` of `segment`, from a copy (same CID on another slot) or rebuilt from k other slots, asking only the
   * nodes that acknowledged their piece of the segment.
   */
  async #rebuild(
    manifest: Manifest,
    segment: number,
    slot: number,
    coder: ReturnType<typeof createErasureCoder> | undefined,
  ): Promise<Uint8Array> {
    const pieces = manifest.segments[segment]!.pieces
    const sources = new Map<number, string>()
    this.#holders.forEach((peer, index) => {
      if (index !== slot && this.#acked[index]!.get(segment) === peer) sources.set(index, peer)
    })
    try {
      return await rebuildPiece(
        {
          manifest,
          segment,
          slot,
          order: [...sources.keys()],
          ...(coder === undefined ? {} : { coder }),
          fetch: async (index) => {
            const peer = sources.get(index)
            if (peer === undefined) throw new NotEnoughPiecesError(`slot ${index} has no acknowledged piece`)
            return await this.#network.fetchPiece(peer, pieces[index]!, this.#fetchSignal())
          },
        },
        { signal: this.#signal },
      )
    } catch (err) {
      if (!(err instanceof NotEnoughPiecesError)) throw err
      throw new NotEnoughPiecesError(
        `piece ${slot} of segment ${segment} was lost with a failed node and could not be rebuilt from the other slots`,
        { cause: err },
      )
    }
  }

  #fetchSignal(): { signal: AbortSignal } {
    return { signal: AbortSignal.any([this.#signal, AbortSignal.timeout(this.#init.timeoutMs)]) }
  }
}
