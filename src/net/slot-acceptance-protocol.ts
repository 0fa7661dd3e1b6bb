/**
 * `/cairn/slot-accept/1.0.0`: how a client gets a storage node's consent, one request and one answer per stream.
 * A `reserve` asks for room for an upload (bytes, lifetime), on a node on chain with the paying account's signed
 * upload ticket: the node's piece protocol then accepts pieces from that peer only within the reserved bytes, until
 * the reservation expires. An `accept` asks the node to sign its
 * acceptance of one deal slot (EIP-712 `SlotAcceptance`, which the Market requires). Either may be refused with a
 * reason. Frames are size-capped before allocation; malformed frames reset the stream and cost the sender score, as
 * on the piece protocol.
 */

import type { Libp2p, Stream } from '@libp2p/interface'
import { bytesToHex } from 'viem'
import { CorruptDataError, NotFoundError, QuotaExceededError, UnauthorizedError } from '../errors.ts'
import { type AbortOptions, merkleVerify } from '../storage/index.ts'
import { DEFAULT_SLOT_ACCEPT_TIMEOUT_MS } from './constants.ts'
import { encodeFrame, FrameReader, protocolError } from './frame-codec.ts'
import type { SlotAcceptanceHandler } from './interface.ts'
import type { PeerLimits } from './peer-limits.ts'
import type { PeerScores } from './peer-scores.ts'
import { requestStream, serveStream } from './served-stream.ts'
import {
  decodeSlotAcceptanceMessage,
  encodeSlotAcceptanceMessage,
  MAX_SLOT_ACCEPT_FRAME_SIZE,
  SLOT_ACCEPT_PROTOCOL,
  type SlotAcceptanceMessage,
  type WireSlotTerms,
  type WireUploadTicket,
} from './slot-acceptance-messages.ts'
import { writeAll } from './stream-io.ts'

/** A request of the protocol. */
export type SlotAcceptanceRequest = Extract<
  SlotAcceptanceMessage,
  { type: 'reserve-request' | 'accept-request' | 'leaf-request' }
>
/** The answer to a request (a reserve answer to a reserve request, an accept answer to an accept request, ...). */
export type SlotAcceptanceAnswer = Extract<
  SlotAcceptanceMessage,
  { type: 'reserve-response' | 'accept-response' | 'leaf-response' }
>
/** A leaf challenge (a holder's spot check) and its answer. */
export type LeafChallenge = Extract<SlotAcceptanceMessage, { type: 'leaf-request' }>
export type LeafAnswer = Extract<SlotAcceptanceMessage, { type: 'leaf-response' }>

const ANSWER_OF = {
  'reserve-request': 'reserve-response',
  'accept-request': 'accept-response',
  'leaf-request': 'leaf-response',
} as const

export interface SlotAcceptanceServerInit {
  limits: PeerLimits
  scores: PeerScores
  timeoutMs: number
  handler: SlotAcceptanceHandler
}

/**
 * Serves one inbound slot-accept stream from `remotePeer`. A handler that throws answers a refusal naming the error.
 *
 * @example
 * ```ts
 * await libp2p.handle(SLOT_ACCEPT_PROTOCOL, (stream, connection) =>
 *   serveSlotAcceptanceStream(stream, connection.remotePeer.toString(), { limits, scores, timeoutMs, handler }))
 * ```
 */
export async function serveSlotAcceptanceStream(
  stream: Stream,
  remotePeer: string,
  init: SlotAcceptanceServerInit,
): Promise<'ok' | 'reset'> {
  return serveStream(stream, remotePeer, init, init.timeoutMs, async ({ lease, deadline, local }) => {
    const body = await new FrameReader(stream).read({ maxLength: MAX_SLOT_ACCEPT_FRAME_SIZE, reserve: lease.reserve })
    if (body === undefined) throw protocolError('truncated', 'stream closed before a request')
    const request = decodeSlotAcceptanceMessage(body)
    const options = { signal: deadline.signal }
    let answer: SlotAcceptanceAnswer
    if (request.type === 'reserve-request') {
      answer = await local(
        init.handler
          .reserve(
            remotePeer,
            {
              bytes: request.bytes,
              seconds: request.seconds,
              ...(request.ticket === undefined ? {} : { ticket: request.ticket }),
            },
            options,
          )
          .catch((error: Error) => ({ type: 'reserve-response', granted: false, reason: error.message }) as const),
      )
    } else if (request.type === 'accept-request') {
      answer = await local(
        init.handler
          .accept(remotePeer, request.terms, options)
          .catch((error: Error) => ({ type: 'accept-response', granted: false, reason: error.message }) as const),
      )
    } else if (request.type === 'leaf-request') {
      const refuse = (reason: string) => ({ type: 'leaf-response', granted: false, reason }) as const
      const prove = init.handler.proveLeaf
      answer =
        prove === undefined
          ? refuse('this node answers no leaf challenges')
          : await local(prove(remotePeer, request, options).catch((error: Error) => refuse(error.message)))
    } else {
      throw protocolError('unexpected', `a ${request.type} is not a request`)
    }
    await writeAll(stream, encodeFrame(encodeSlotAcceptanceMessage(answer)), deadline.signal)
    await stream.close({ signal: deadline.signal })
    return 'ok' as const
  })
}

/**
 * Registers the slot-accept handler on `libp2p` (a storing node with an acceptance policy calls it at start).
 *
 * @example
 * ```ts
 * await handleSlotAcceptance(libp2p, { limits, scores, timeoutMs: 10_000, handler }, 16)
 * ```
 */
export async function handleSlotAcceptance(
  libp2p: Libp2p,
  init: SlotAcceptanceServerInit,
  maxInboundStreams: number,
): Promise<void> {
  await libp2p.handle(
    SLOT_ACCEPT_PROTOCOL,
    async (stream, connection) => {
      await serveSlotAcceptanceStream(stream, connection.remotePeer.toString(), init)
    },
    { maxInboundStreams, maxOutboundStreams: 64, runOnLimitedConnection: true },
  )
}

export interface SlotAcceptanceClientInit {
  libp2p: Libp2p
  scores: PeerScores
  controlTimeoutMs: number
}

/**
 * Sends one request to `peer` and returns its answer (granted, or refused with the node's reason).
 *
 * @example
 * ```ts
 * const answer = await askSlotAcceptance(init, peerId, { type: 'reserve-request', bytes: 4_000_000, seconds: 600 })
 * if (answer.type === 'reserve-response' && !answer.granted) throw new Error(answer.reason)
 * ```
 */
export async function askSlotAcceptance(
  init: SlotAcceptanceClientInit,
  peer: string,
  request: SlotAcceptanceRequest,
  options: AbortOptions = {},
): Promise<SlotAcceptanceAnswer> {
  const body = encodeSlotAcceptanceMessage(request)
  // A reservation is answered from memory; an acceptance rehashes the slot first (a leaf answer may build its tree).
  const timeoutMs = request.type === 'reserve-request' ? init.controlTimeoutMs : DEFAULT_SLOT_ACCEPT_TIMEOUT_MS
  const timing = { timeoutMs, what: 'slot acceptance', ...options }
  return requestStream(init, SLOT_ACCEPT_PROTOCOL, peer, timing, async (stream, signal) => {
    await writeAll(stream, encodeFrame(body), signal)
    await stream.close({ signal })
    const frame = await new FrameReader(stream).read({ maxLength: MAX_SLOT_ACCEPT_FRAME_SIZE })
    if (frame === undefined) throw protocolError('truncated', 'peer closed the stream without answering')
    const answer = decodeSlotAcceptanceMessage(frame)
    const expected = ANSWER_OF[request.type]
    if (answer.type !== expected) throw protocolError('unexpected', `expected a ${expected}`)
    if (request.type === 'leaf-request' && answer.type === 'leaf-response') checkLeafAnswer(peer, request, answer)
    return answer as SlotAcceptanceAnswer
  })
}

/**
 * Inside the exchange, so that a wrong answer costs the holder score: a granted leaf answer must echo the nonce and,
 * when the asker gave `expect`, verify against the slot root at the challenged index.
 */
function checkLeafAnswer(peer: string, request: LeafChallenge, answer: LeafAnswer): void {
  if (!answer.granted) return
  if (answer.nonce !== request.nonce) throw protocolError('malformed', 'the leaf answer echoes another nonce')
  const expect = request.expect
  if (expect === undefined) return
  if (!merkleVerify(expect.root, request.leafIndex, expect.leafCount, answer.leaf, answer.proof)) {
    throw new CorruptDataError(
      `node ${peer} answered leaf ${request.leafIndex} of slot ${request.slotIndex} of ${request.manifestCid} with bytes that do not verify against the slot root`,
      { details: { peer, slot: request.slotIndex, leaf: request.leafIndex } },
    )
  }
}

/**
 * Challenges `peer` for one leaf of a slot it claims to hold, with a fresh nonce; resolves with the leaf and its path
 * (checked against `expect.root`), or throws: NotFoundError with the holder's reason when it refuses (with
 * `details.unknownFile` when it has no manifest of the file: not a failed check), CorruptDataError
 * when its answer does not verify (the holder also loses score), else the network's error (timeout, unreachable).
 *
 * @example
 * ```ts
 * await challengeLeaf(network, peer, { manifestCid, slotIndex, leafIndex }, { root: slot.root, leafCount })
 * ```
 */
export async function challengeLeaf(
  network: SlotAcceptanceRequester,
  peer: string,
  challenge: { manifestCid: string; slotIndex: number; leafIndex: number },
  expect: { root: Uint8Array; leafCount: number },
  options: AbortOptions = {},
): Promise<{ leaf: Uint8Array; proof: Uint8Array[] }> {
  const nonce = BigInt(bytesToHex(crypto.getRandomValues(new Uint8Array(32))))
  const request: LeafChallenge = { type: 'leaf-request', ...challenge, nonce, expect }
  const answer = await network.slotAcceptance(peer, request, options)
  if (answer.type !== 'leaf-response') throw protocolError('unexpected', 'expected a leaf answer')
  if (!answer.granted) {
    const unknownFile = answer.unknownFile === true
    throw new NotFoundError(
      `node ${peer} did not answer the challenge of leaf ${challenge.leafIndex} of slot ${challenge.slotIndex}: ${answer.reason}`,
      { details: { peer, slot: challenge.slotIndex, leaf: challenge.leafIndex, reason: answer.reason, unknownFile } },
    )
  }
  // A requester that is not the network (a test double) did not run the check in the exchange: run it here.
  checkLeafAnswer(peer, request, answer)
  return { leaf: answer.leaf, proof: answer.proof }
}

/** What asks a node for a reservation or an acceptance (a Network, or a fake in tests). */
export type SlotAcceptanceRequester = {
  slotAcceptance(peer: string, request: SlotAcceptanceRequest, options?: AbortOptions): Promise<SlotAcceptanceAnswer>
}

/**
 * Reserves room for `bytes` of pieces on `peer` for `seconds` (the peer then accepts pieces from this node up to that
 * many bytes until the reservation expires). A client calls it before uploading a slot, and a repairing node before
 * it pushes a rebuilt slot to its target. A node on chain needs `ticket`, the paying account's signed upload ticket for
 * exactly `bytes` (see `signUploadTicket` in src/node). Throws QuotaExceededError naming the peer and its reason when
 * refused.
 *
 * @example
 * ```ts
 * const { bytes, expiresAt } = await reserveUpload(network, target, { bytes: slotBytes, seconds: 600, ticket })
 * ```
 */
export async function reserveUpload(
  network: SlotAcceptanceRequester,
  peer: string,
  request: { bytes: number; seconds: number; ticket?: WireUploadTicket | undefined },
  options: AbortOptions = {},
): Promise<{ bytes: number; expiresAt: number }> {
  const { ticket, ...size } = request
  const message = { type: 'reserve-request' as const, ...size, ...(ticket === undefined ? {} : { ticket }) }
  const answer = await network.slotAcceptance(peer, message, options)
  if (answer.type !== 'reserve-response') throw protocolError('unexpected', 'expected a reserve answer')
  if (!answer.granted) {
    throw new QuotaExceededError(
      `node ${peer} refused an upload reservation of ${request.bytes} bytes: ${answer.reason}`,
      {
        details: { peer, reason: answer.reason },
      },
    )
  }
  return { bytes: answer.bytes, expiresAt: answer.expiresAt }
}

/**
 * Asks `peer` to sign its acceptance of one deal slot. Throws UnauthorizedError naming the peer, the slot and the
 * node's reason when it refuses (the caller checks the signature's signer before using it).
 *
 * @example
 * ```ts
 * const { nonce, expiry, signature } = await requestSlotAcceptance(network, peerId, terms)
 * ```
 */
export async function requestSlotAcceptance(
  network: SlotAcceptanceRequester,
  peer: string,
  terms: WireSlotTerms,
  options: AbortOptions = {},
): Promise<{ nonce: bigint; expiry: number; signature: `0x${string}` }> {
  const answer = await network.slotAcceptance(peer, { type: 'accept-request', terms }, options)
  if (answer.type !== 'accept-response') throw protocolError('unexpected', 'expected an accept answer')
  if (!answer.granted) {
    throw new UnauthorizedError(`node ${peer} refused slot ${terms.slotIndex}: ${answer.reason}`, {
      details: { peer, slot: terms.slotIndex, reason: answer.reason },
    })
  }
  return { nonce: answer.nonce, expiry: answer.expiry, signature: answer.signature }
}
