/** A get: locate the file, fetch its pieces from the fastest holders (hedged, skipping corrupt ones) and decode. */
import { type CairnError, InvalidCapabilityError, NotEnoughPiecesError } from '../errors.ts'
import type { AbortOptions } from '../node/index.ts'
import { decodeFile, type PieceRequest, parseCapability } from '../storage/index.ts'
import type { ClientContext } from './client-context.ts'
import { errorMessage } from './error-message.ts'
import type { GetInit } from './interface.ts'
import { type LocatedFile, locateFile } from './locate-file.ts'

/**
 * Reads the file of a full capability (`cairn:<cid>#<key>`), yielding its plaintext in order (a byte range when
 * `init.offset`/`init.length` are given). Preferred peers are asked first, then the fastest holders.
 *
 * @example
 * ```ts
 * for await (const chunk of getFile(context, capability, {}, options)) process.stdout.write(chunk)
 * ```
 */
export async function* getFile(
  context: ClientContext,
  capability: string,
  init: GetInit = {},
  options: AbortOptions = {},
): AsyncGenerator<Uint8Array> {
  const parsed = parseCapability(capability)
  if (parsed.key === undefined) {
    throw new InvalidCapabilityError(
      'this capability has no file key (it can verify, not read): ask for the full cairn:<cid>#<key> capability',
    )
  }
  const located = await locateFile(context, parsed.manifestCid, init.prefer ?? [], options)
  const { manifest } = located
  const preferred = new Set(init.prefer ?? [])
  const rank = (peer: string): number => (preferred.has(peer) ? -1 : (located.latency.get(peer) ?? 1e9))
  init.onProgress?.({
    type: 'get:manifest',
    size: manifest.size,
    k: manifest.k,
    n: manifest.n,
    holders: new Set(located.holders.flat()).size,
  })
  const slotOrder = [...manifest.slots.keys()]
    .filter((slot) => (located.holders[slot]?.length ?? 0) > 0)
    .sort((a, b) => rank(located.holders[a]![0]!) - rank(located.holders[b]![0]!))
  const corrupt = new Set<string>()
  const network = context.network
  const timeoutMs = context.pieceTimeoutMs
  const fetchPiece = async (request: PieceRequest, { signal }: { signal: AbortSignal }): Promise<Uint8Array> => {
    const candidates = holdersForPiece(located, request).sort((a, b) => rank(a) - rank(b))
    let lastError: unknown
    for (const peer of candidates) {
      if (corrupt.has(peer)) continue
      try {
        return await network.fetchPiece(peer, request.cid, {
          signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        })
      } catch (err) {
        if (signal.aborted) throw err
        lastError = err
        if ((err as CairnError).code === 'ERR_CORRUPT_DATA') {
          corrupt.add(peer)
          init.onProgress?.({
            type: 'get:corrupt',
            peerId: peer,
            cid: request.cid.toString(),
            segment: request.segment,
            slot: request.slot,
          })
        } else {
          init.onProgress?.({
            type: 'get:fallback',
            peerId: peer,
            cid: request.cid.toString(),
            error: errorMessage(err),
          })
        }
      }
    }
    throw new NotEnoughPiecesError(
      `no holder of slot ${request.slot} served piece ${request.cid} of segment ${request.segment}`,
      { cause: lastError },
    )
  }
  const total = init.length ?? Math.max(0, manifest.size - (init.offset ?? 0))
  let bytes = 0
  try {
    for await (const chunk of decodeFile(
      manifest,
      parsed.key,
      fetchPiece,
      {
        ...(init.offset === undefined ? {} : { offset: init.offset }),
        ...(init.length === undefined ? {} : { length: init.length }),
        concurrency: context.getConcurrency,
        hedgeAfter: context.hedgeAfterMs,
        slotOrder,
        // The fetched pieces are this call's own buffers: freed as soon as their segment is decoded, not at the next GC.
        releasePieces: true,
      },
      options,
    )) {
      bytes += chunk.byteLength
      init.onProgress?.({ type: 'get:bytes', bytes, total })
      yield chunk
    }
  } catch (err) {
    if (err instanceof NotEnoughPiecesError) {
      const alive = located.holders.filter((h) => h.length > 0).length
      throw new NotEnoughPiecesError(
        `the file cannot be read: ${alive} of its ${manifest.n} slots have a reachable holder and ${manifest.k} are needed (${err.message})`,
        { cause: err },
      )
    }
    throw err
  }
}

/** Holders of a piece: those of its slot, plus those of every slot whose piece has the same CID (replication). */
function holdersForPiece(located: LocatedFile, request: PieceRequest): string[] {
  const segment = located.manifest.segments[request.segment]
  const first = located.manifest.segments[0]!.pieces
  const out = new Set(located.holders[request.slot] ?? [])
  if (segment !== undefined) {
    segment.pieces.forEach((cid, slot) => {
      if (slot !== request.slot && cid.equals(request.cid) && first[slot]!.equals(first[request.slot]!)) {
        for (const peer of located.holders[slot] ?? []) out.add(peer)
      }
    })
  }
  return [...out]
}
