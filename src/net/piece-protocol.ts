/**
 * `/cairn/piece/1.0.0`: one request and one response per stream (store, fetch or has-pieces).
 * The server verifies a stored piece against its CID and acknowledges only after `PieceStore.put` resolved.
 * Malformed, oversize or unexpected frames reset the stream and cost the sender score. A fetch answer's bytes are
 * reserved against the peer's bytes-in-flight budget until the peer has read them; a full budget answers Busy.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import {
  CorruptDataError,
  InvalidArgumentError,
  NotFoundError,
  QuotaExceededError,
  UnreachableError,
} from '../errors.ts'
import { type AbortOptions, isPieceCid, type PieceStore } from '../storage/index.ts'
import {
  MAX_CONTROL_FRAME_SIZE,
  MAX_HAS_CIDS,
  MAX_PIECE_FRAME_SIZE,
  MAX_PIECE_SIZE,
  PENALTY_CORRUPT_DATA,
  PIECE_PROTOCOL,
} from './constants.ts'
import { encodeFrame, encodeFrameHeader, FrameReader, protocolError } from './frame-codec.ts'
import type { SlotAcceptanceHandler } from './interface.ts'
import type { PeerLimits } from './peer-limits.ts'
import type { PeerScores } from './peer-scores.ts'
import { piecesMatch } from './piece-cid.ts'
import {
  decodePieceMessage,
  encodeFetchResponseHead,
  encodePieceMessage,
  encodeStoreRequestHead,
  type PieceMessage,
  ResponseStatus,
  type ResponseStatusCode,
} from './piece-messages.ts'
import { requestStream, serveStream } from './served-stream.ts'
import { streamBuffers, writeAll } from './stream-io.ts'

export interface PieceServerInit {
  pieceStore: Pick<PieceStore, 'put' | 'get' | 'has'>
  limits: PeerLimits
  scores: PeerScores
  transferTimeoutMs: number
  /** Called after a piece was stored durably (the network queues a DHT provide). */
  onStored?: (cid: CID) => void
  /** The node's upload gate: pieces only from peers holding a reservation, within its bytes (absent: any peer). */
  admitStore?: SlotAcceptanceHandler['admitStore'] | undefined
}

/** What the server reports on a stream it finished (for tests and metrics). */
export type PieceServerOutcome = 'ok' | 'refused' | 'reset'

/**
 * Serves one inbound piece stream from `remotePeer`.
 *
 * @example
 * ```ts
 * await libp2p.handle(PIECE_PROTOCOL, (stream, connection) => servePieceStream(stream, connection.remotePeer.toString(), init))
 * ```
 */
export async function servePieceStream(
  stream: Stream,
  remotePeer: string,
  init: PieceServerInit,
): Promise<PieceServerOutcome> {
  return serveStream(stream, remotePeer, init, init.transferTimeoutMs, async ({ lease, deadline, local }) => {
    const reader = new FrameReader(streamBuffers(stream))
    const body = await reader.read({ maxLength: MAX_PIECE_FRAME_SIZE, reserve: lease.reserve })
    if (body === undefined) throw protocolError('truncated', 'stream closed before a request')
    const request = decodePieceMessage(body)
    let refused = false
    const respond = async (response: PieceMessage) => writeAll(stream, encodeFrame(encodePieceMessage(response)))
    switch (request.type) {
      case 'store-request': {
        const status = await local(storeRequested(request.cid, request.bytes, remotePeer, init, deadline.signal))
        refused = status[0] !== ResponseStatus.Ok
        await respond({ type: 'store-response', status: status[0], message: status[1] })
        break
      }
      case 'fetch-request': {
        let [status, bytes, message] = await local(fetchRequested(request.cid, init, deadline.signal))
        if (status === ResponseStatus.Ok) {
          try {
            // the piece stays in memory until the peer has read it: it counts like request bytes do
            lease.reserve(bytes.byteLength)
          } catch (error) {
            status = ResponseStatus.Busy
            message = (error as Error).message
          }
        }
        if (status === ResponseStatus.Ok) {
          const head = encodeFetchResponseHead(status)
          await writeAll(stream, encodeFrameHeader(head.byteLength + bytes.byteLength), deadline.signal)
          await writeAll(stream, head, deadline.signal)
          await writeAll(stream, bytes, deadline.signal)
        } else {
          refused = true
          await respond({ type: 'fetch-response', status, bytes: new Uint8Array(0), message })
        }
        break
      }
      case 'has-request': {
        const present = await Promise.all(
          request.cids.map((cid) => local(init.pieceStore.has(cid, { signal: deadline.signal })).catch(() => false)),
        )
        await respond({ type: 'has-response', present })
        break
      }
      default:
        throw protocolError('unexpected', `a ${request.type} is not a request`)
    }
    await stream.close({ signal: deadline.signal })
    return refused ? 'refused' : 'ok'
  })
}

async function storeRequested(
  cid: CID,
  bytes: Uint8Array,
  remotePeer: string,
  init: PieceServerInit,
  signal: AbortSignal,
): Promise<[ResponseStatusCode, string]> {
  if (!isPieceCid(cid)) return [ResponseStatus.BadRequest, 'only CIDv1 raw sha2-256 piece addresses are accepted']
  if (!piecesMatch(cid, bytes)) {
    init.scores.penalize(remotePeer, PENALTY_CORRUPT_DATA)
    return [ResponseStatus.CorruptData, `bytes do not hash to ${cid}`]
  }
  const refusal = init.admitStore?.(remotePeer, cid, bytes.byteLength)
  if (refusal !== undefined) {
    return [refusal.refused === 'full' ? ResponseStatus.QuotaExceeded : ResponseStatus.BadRequest, refusal.message]
  }
  try {
    await init.pieceStore.put(cid, bytes, { signal })
  } catch (error) {
    if (error instanceof QuotaExceededError) return [ResponseStatus.QuotaExceeded, error.message]
    if (error instanceof CorruptDataError) return [ResponseStatus.CorruptData, error.message]
    return [ResponseStatus.Internal, 'the piece could not be stored']
  }
  init.onStored?.(cid)
  return [ResponseStatus.Ok, '']
}

async function fetchRequested(
  cid: CID,
  init: PieceServerInit,
  signal: AbortSignal,
): Promise<[ResponseStatusCode, Uint8Array, string]> {
  const empty = new Uint8Array(0)
  if (!isPieceCid(cid)) return [ResponseStatus.BadRequest, empty, 'not a piece CID']
  try {
    const bytes = await init.pieceStore.get(cid, { signal })
    if (bytes.byteLength > MAX_PIECE_SIZE) return [ResponseStatus.Internal, empty, 'stored piece exceeds the limit']
    return [ResponseStatus.Ok, bytes, '']
  } catch (error) {
    if (error instanceof NotFoundError) return [ResponseStatus.NotFound, empty, `piece ${cid} is not here`]
    if (error instanceof CorruptDataError)
      return [ResponseStatus.CorruptData, empty, `stored copy of ${cid} is corrupt`]
    return [ResponseStatus.Internal, empty, 'the piece could not be read']
  }
}

export interface PieceClientInit {
  libp2p: Libp2p
  scores: PeerScores
  transferTimeoutMs: number
  controlTimeoutMs: number
}

/** Opens a piece stream to `peer`, runs `exchange` under one deadline and maps failures to Cairn errors. */
function withPieceStream<T>(
  init: PieceClientInit,
  peer: string,
  timeoutMs: number,
  what: string,
  options: AbortOptions,
  exchange: (stream: Stream, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  return requestStream(init, PIECE_PROTOCOL, peer, { timeoutMs, what, ...options }, exchange)
}

async function readResponse(stream: Stream, maxLength: number): Promise<PieceMessage> {
  const reader = new FrameReader(streamBuffers(stream))
  const body = await reader.read({ maxLength })
  if (body === undefined) throw protocolError('truncated', 'peer closed the stream without answering')
  return decodePieceMessage(body)
}

function statusError(status: ResponseStatusCode, message: string, peer: string, cid: CID): Error {
  const details = { peer, cid: cid.toString() }
  switch (status) {
    case ResponseStatus.NotFound:
      return new NotFoundError(`peer ${peer} does not hold ${cid}`, { details })
    case ResponseStatus.CorruptData:
      return new CorruptDataError(`peer ${peer} refused ${cid}: ${message}`, { details })
    case ResponseStatus.QuotaExceeded:
      return new QuotaExceededError(`peer ${peer} is full: ${message}`, { details })
    case ResponseStatus.Busy:
      return new UnreachableError(`peer ${peer} is busy, ask another holder or retry later: ${message}`, { details })
    case ResponseStatus.BadRequest:
      return new InvalidArgumentError(`peer ${peer} refused the request: ${message}`, { details })
    default:
      return new UnreachableError(`peer ${peer} could not serve ${cid}: ${message}`, { details })
  }
}

/**
 * Sends a piece and resolves once the remote acknowledged it durable.
 *
 * @example
 * ```ts
 * await storePieceOnPeer(init, peerId, cid, bytes, { signal })
 * ```
 */
export async function storePieceOnPeer(
  init: PieceClientInit,
  peer: string,
  cid: CID,
  bytes: Uint8Array,
  options: AbortOptions = {},
): Promise<void> {
  if (bytes.byteLength > MAX_PIECE_SIZE) {
    throw new InvalidArgumentError(`piece of ${bytes.byteLength} bytes exceeds the limit of ${MAX_PIECE_SIZE}`)
  }
  if (!isPieceCid(cid)) throw new InvalidArgumentError(`${cid} is not a CIDv1 raw sha2-256 piece address`)
  await withPieceStream(init, peer, init.transferTimeoutMs, 'storing a piece', options, async (stream, signal) => {
    const head = encodeStoreRequestHead(cid)
    await writeAll(stream, encodeFrameHeader(head.byteLength + bytes.byteLength), signal)
    await writeAll(stream, head, signal)
    await writeAll(stream, bytes, signal)
    await stream.close({ signal })
    const response = await readResponse(stream, MAX_CONTROL_FRAME_SIZE)
    if (response.type !== 'store-response') throw protocolError('unexpected', `expected a store response`)
    if (response.status !== ResponseStatus.Ok) throw statusError(response.status, response.message, peer, cid)
  })
}

/** Fetches a piece and verifies it against `cid` (CorruptDataError otherwise). */
export async function fetchPieceFromPeer(
  init: PieceClientInit,
  peer: string,
  cid: CID,
  options: AbortOptions = {},
): Promise<Uint8Array> {
  if (!isPieceCid(cid)) throw new InvalidArgumentError(`${cid} is not a CIDv1 raw sha2-256 piece address`)
  return await withPieceStream(
    init,
    peer,
    init.transferTimeoutMs,
    'fetching a piece',
    options,
    async (stream, signal) => {
      await writeAll(stream, encodeFrame(encodePieceMessage({ type: 'fetch-request', cid })), signal)
      await stream.close({ signal })
      const response = await readResponse(stream, MAX_PIECE_FRAME_SIZE)
      if (response.type !== 'fetch-response') throw protocolError('unexpected', 'expected a fetch response')
      if (response.status !== ResponseStatus.Ok) throw statusError(response.status, response.message, peer, cid)
      if (!piecesMatch(cid, response.bytes)) {
        throw new CorruptDataError(`peer ${peer} sent bytes that do not hash to ${cid}`, {
          details: { peer, cid: cid.toString() },
        })
      }
      return response.bytes
    },
  )
}

/** Asks which of `cids` the peer holds. */
export async function peerHasPieces(
  init: PieceClientInit,
  peer: string,
  cids: CID[],
  options: AbortOptions = {},
): Promise<boolean[]> {
  if (cids.length > MAX_HAS_CIDS) throw new InvalidArgumentError(`at most ${MAX_HAS_CIDS} CIDs per has-pieces call`)
  if (cids.length === 0) return []
  return await withPieceStream(init, peer, init.controlTimeoutMs, 'has-pieces', options, async (stream, signal) => {
    await writeAll(stream, encodeFrame(encodePieceMessage({ type: 'has-request', cids })), signal)
    await stream.close({ signal })
    const response = await readResponse(stream, MAX_CONTROL_FRAME_SIZE)
    if (response.type !== 'has-response') throw protocolError('unexpected', 'expected a has response')
    if (response.present.length !== cids.length) throw protocolError('malformed', 'has response of the wrong length')
    return response.present
  })
}
