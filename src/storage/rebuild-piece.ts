import { NotEnoughPiecesError } from '../errors.ts'
import type { AbortOptions, ErasureCoder, Manifest } from './interface.ts'

/** What `rebuildPiece` needs to recreate one piece of a file. */
export interface RebuildPieceInit {
  manifest: Manifest
  segment: number
  /** The slot whose piece is rebuilt. */
  slot: number
  /**
   * Fetches the verified piece of slot `index` of the segment from wherever the caller knows it lives (a local store,
   * a holder); rejects when no source has it.
   */
  fetch(index: number, options?: AbortOptions): Promise<Uint8Array>
  /** The erasure coder of the manifest's (k, n); leave it out for k = 1, where only copies can serve. */
  coder?: Pick<ErasureCoder, 'reconstruct'>
  /** The order in which the other slots are asked (default: slot order); e.g. local slots first. */
  order?: number[]
}

/**
 * Recreates piece `slot` of `segment`: a copy of the same CID held by another slot when there is one (k = 1), else
 * Reed-Solomon from k other slots, asked in waves of the number still missing. The caller's `fetch` verifies pieces.
 *
 * @example
 * ```ts
 * const piece = await rebuildPiece({ manifest, segment: 0, slot: 2, coder, fetch: (i) => fetchFromHolder(i) })
 * ```
 */
export async function rebuildPiece(init: RebuildPieceInit, options: AbortOptions = {}): Promise<Uint8Array> {
  const { manifest, segment, slot } = init
  const pieces = manifest.segments[segment]?.pieces
  if (pieces === undefined || pieces[slot] === undefined) {
    throw new NotEnoughPiecesError(`segment ${segment} has no slot ${slot}`)
  }
  const wanted = pieces[slot]
  const others = (init.order ?? [...pieces.keys()]).filter((i) => i !== slot && i >= 0 && i < pieces.length)
  for (const index of others) {
    if (!pieces[index]!.equals(wanted)) continue
    try {
      return await init.fetch(index, options)
    } catch {}
  }
  if (init.coder === undefined) {
    throw new NotEnoughPiecesError(`no reachable node has a copy of piece ${slot} of segment ${segment}`)
  }
  const shards: Array<Uint8Array | undefined> = pieces.map(() => undefined)
  const queue = [...others]
  let have = 0
  while (have < manifest.k && queue.length > 0 && options.signal?.aborted !== true) {
    const wave = queue.splice(0, manifest.k - have)
    const got = await Promise.allSettled(wave.map((index) => init.fetch(index, options)))
    got.forEach((result, j) => {
      if (result.status === 'fulfilled') {
        shards[wave[j]!] = result.value
        have++
      }
    })
  }
  if (have < manifest.k) {
    throw new NotEnoughPiecesError(
      `piece ${slot} of segment ${segment} needs ${manifest.k} other slots and only ${have} answered: the file has lost more than n - k slots, or their nodes are unreachable`,
    )
  }
  const rebuilt = init.coder.reconstruct(shards)[slot]
  if (rebuilt === undefined) throw new NotEnoughPiecesError(`piece ${slot} of segment ${segment} could not be rebuilt`)
  return rebuilt
}
