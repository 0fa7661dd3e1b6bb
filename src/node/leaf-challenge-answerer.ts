/**
 * How a holder answers a leaf challenge (`/cairn/slot-accept/1.0.0` message 0x06, issue 12 finding 3): the challenged
 * 1 KiB leaf of a slot it holds, read from its own disk, with the leaf's Merkle path to the slot root (the slot
 * prover's cached tree; built once from the pieces when there is none). A node without the file's manifest answers
 * so (status 2: a put stores the manifest last, so that is no failed proof). A challenge is refused when the peer may not
 * challenge (on chain: only Registry-active staked nodes), when the manifest CID is not in its canonical text form,
 * or when the same peer's challenge of the same slot failed within FAILED_SLOT_MEMORY_MS (a failed proof rebuilds the
 * tree from the pieces: a peer must not make the node reread a slot on every request, e.g. with leaf indexes past the
 * slot's end). The memory is per challenger, so one peer's bad challenges cannot make the node refuse others.
 */
import { CID } from 'multiformats/cid'
import { type LeafAnswer, type LeafChallenge, MAX_LEAF_PATH_HASHES } from '../net/index.ts'
import type { SlotProver } from './chain-service/index.ts'
import type { AbortOptions } from './interface.ts'
import { monotonicNow } from './monotonic-clock.ts'

/** How long a peer's challenges of a slot that failed a leaf proof are refused at once (ms). */
export const FAILED_SLOT_MEMORY_MS = 10 * 60 * 1000
/** (peer, slot) pairs remembered as failed at most. */
const MAX_FAILED_SLOTS = 10_000

export interface LeafChallengeAnswererComponents {
  /** Absent: every challenge is refused. `pieces` tells a file whose manifest is not here (not a failed proof). */
  prover: Partial<Pick<SlotProver, 'prove' | 'pieces'>>
  mayChallenge: (peerId: string) => boolean
  /** Monotonic clock in ms (tests; default `performance.now()`). */
  now?: () => number
}

/**
 * The `proveLeaf` of a node's consent policy.
 *
 * @example
 * ```ts
 * const proveLeaf = createLeafChallengeAnswerer({ prover, mayChallenge: registry.isStaked })
 * const answer = await proveLeaf(peer, challenge, { signal })
 * ```
 */
export function createLeafChallengeAnswerer(
  components: LeafChallengeAnswererComponents,
): (peer: string, challenge: LeafChallenge, options: AbortOptions) => Promise<LeafAnswer> {
  const failed = new Map<string, number>()
  const now = () => components.now?.() ?? monotonicNow()
  const refuse = (reason: string): LeafAnswer => ({ type: 'leaf-response', granted: false, reason })
  return async (peer, challenge, options) => {
    const prove = components.prover.prove
    if (prove === undefined) return refuse('this node answers no leaf challenges')
    if (!components.mayChallenge(peer)) {
      return refuse(`peer ${peer} is not a staked node: only staked nodes may challenge this node's slots`)
    }
    let canonical: string
    try {
      canonical = CID.parse(challenge.manifestCid).toString()
    } catch {
      return refuse(`${challenge.manifestCid} is not a manifest CID`)
    }
    if (canonical !== challenge.manifestCid) return refuse(`give the manifest CID as ${canonical}`)
    const key = `${peer}:${canonical}:${challenge.slotIndex}`
    const failedAt = failed.get(key)
    if (failedAt !== undefined && now() - failedAt < FAILED_SLOT_MEMORY_MS) {
      return refuse(`slot ${challenge.slotIndex} of ${canonical} failed a proof here lately: try again later`)
    }
    const slotKey = { manifestCid: canonical, slotIndex: challenge.slotIndex }
    try {
      await components.prover.pieces?.(slotKey, options)
    } catch (error) {
      if (options.signal?.aborted) throw error
      // A put stores the manifest last: a challenge between its pieces and its manifest is no failed proof.
      return { ...refuse(`this node has no manifest of ${canonical}: ${(error as Error).message}`), unknownFile: true }
    }
    try {
      const { leaf, proof } = await prove(
        { manifestCid: canonical, slotIndex: challenge.slotIndex },
        challenge.leafIndex,
        options,
      )
      if (proof.length > MAX_LEAF_PATH_HASHES) return refuse(`the slot's Merkle path has ${proof.length} hashes`)
      failed.delete(key)
      return { type: 'leaf-response', granted: true, nonce: challenge.nonce, leaf, proof }
    } catch (error) {
      if (options.signal?.aborted) throw error
      failed.delete(key)
      failed.set(key, now())
      if (failed.size > MAX_FAILED_SLOTS) failed.delete(failed.keys().next().value!)
      return refuse(
        `cannot prove leaf ${challenge.leafIndex} of slot ${challenge.slotIndex}: ${(error as Error).message}`,
      )
    }
  }
}
