/** A put: check the redundancy, choose the slots' nodes, encode the source and store its pieces and manifest. */
import { bytesToHex } from 'viem'
import type { AbortOptions } from '../node/index.ts'
import { encodeFile, redundancyPolicy } from '../storage/index.ts'
import type { ClientContext } from './client-context.ts'
import type { PutInit, PutResult } from './interface.ts'
import { SegmentBuffers } from './segment-buffers.ts'
import { slotNodes } from './slot-nodes.ts'
import { SlotUpload } from './slot-upload.ts'

/**
 * Stores `source` as a k-of-n file on distinct live nodes: pieces stream out as the encoder makes them (bounded by
 * the context's concurrency and bytes in flight), a failed node's slot moves to a spare, and the file is recorded
 * once its manifest is on every slot's node.
 *
 * @example
 * ```ts
 * const { capability } = await putFile(context, [bytes], { k: 1, n: 3 })
 * ```
 */
export async function putFile(
  context: ClientContext,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  init: PutInit = {},
  options: AbortOptions = {},
): Promise<PutResult> {
  const { k, n } = redundancyPolicy(init.k, init.n)
  const ordered = slotNodes(await context.nodes(options), n, init.eligible, init.placement)
  const upload = new SlotUpload(context.network, ordered, n, {
    attempts: context.slotAttempts,
    timeoutMs: context.pieceTimeoutMs,
    onProgress: init.onProgress,
    signal: options.signal,
    uploadTicket: init.placement?.uploadTicket,
  })
  init.onProgress?.({ type: 'put:placement', slots: upload.placement() })

  const segmentSize = init.segmentSize ?? context.segmentSize
  const encoded = encodeFile(
    source,
    {
      k,
      n,
      workers: context.encodeWorkers,
      ...(segmentSize === undefined ? {} : { segmentSize }),
      ...(init.metadata === undefined ? {} : { metadata: init.metadata }),
      onProgress: (event) => {
        if (event.type === 'segment-encoded') init.onProgress?.({ type: 'put:read', bytes: event.plaintextBytes })
      },
    },
    upload.signalOption(),
  )
  // Surface an encoder failure even if the piece loop below stops first.
  encoded.done.catch(() => {})
  try {
    const inFlight = new Set<Promise<void>>()
    const segments = new SegmentBuffers(n)
    let bytesInFlight = 0
    for await (const piece of encoded.pieces) {
      segments.add(piece)
      // Each piece counts, also when k = 1 sends one buffer to n slots: each slot's stream holds its own encrypted copy.
      const size = piece.bytes.byteLength
      while (
        inFlight.size > 0 &&
        (inFlight.size >= context.putConcurrency || bytesInFlight + size > context.putMaxInFlightBytes)
      ) {
        await Promise.race(inFlight)
      }
      upload.throwIfFailed()
      bytesInFlight += size
      const task = upload.storeEncodedPiece(piece).then((clean) => {
        bytesInFlight -= size
        inFlight.delete(task)
        segments.done(piece.segment, clean && upload.failure() === undefined)
      })
      inFlight.add(task)
    }
    await Promise.all(inFlight)
    upload.throwIfFailed()
    const file = await encoded.done
    init.onProgress?.({ type: 'put:manifest', manifestCid: file.manifestCid.toString() })
    // Nodes can be jailed while a long upload runs: their slots move to active spares before the deal names them.
    if (init.placement?.stillActive !== undefined) upload.replaceInactive(await init.placement.stillActive(options))
    await upload.finish(file.manifest, file.manifestCid, file.manifestBytes)
    const result: PutResult = {
      capability: file.capability,
      manifestCid: file.manifestCid.toString(),
      size: file.size,
      k,
      n,
      slots: upload.placement(),
      commitments: file.manifest.slots.map((slot) => ({
        root: bytesToHex(slot.root),
        size: slot.size,
      })),
    }
    const { commitments: _commitments, ...recorded } = result
    await context.records.add({
      ...recorded,
      ...(init.metadata?.name === undefined ? {} : { name: init.metadata.name }),
      ...(init.metadata?.type === undefined ? {} : { type: init.metadata.type }),
      storedAt: Date.now(),
    })
    return result
  } catch (err) {
    upload.abort(err)
    throw upload.failure() ?? err
  }
}
