/**
 * A storage node's consent policy (issue 12, findings 2 and 4): it grants upload reservations within its free space
 * (on chain only for an upload ticket of an account that can pay, or to a staked node repairing: see
 * upload-admission.ts), admits pieces only from peers holding one, and signs its acceptance of a deal slot (EIP-712 `SlotAcceptance`, which
 * the Market requires) only when the price cap covers its own price, it has room, it has fewer than a bound of
 * acceptances outstanding, and it holds the slot's pieces and recomputed their Merkle root itself. Every signed
 * acceptance is written durably to the data dir before its signature leaves the node.
 */
import { CID } from 'multiformats/cid'
import { type ChainClient, getNode, signSlotAcceptance } from '../chain/index.ts'
import type { SlotAcceptanceHandler, WireSlotTerms } from '../net/index.ts'
import { AcceptedManifests } from './accepted-manifests.ts'
import { AcceptedSlots } from './accepted-slots.ts'
import type { SlotProver } from './chain-service/index.ts'
import { createLeafChallengeAnswerer } from './leaf-challenge-answerer.ts'
import { monotonicNow } from './monotonic-clock.ts'
import { createUploadAdmission } from './upload-admission.ts'
import { UploadReservations } from './upload-reservations.ts'

/** How long a signed acceptance is valid (the client must open its deal within it). */
export const DEFAULT_ACCEPTANCE_SECONDS = 600
/** Most acceptances a node keeps outstanding (signed, not expired) at once. */
export const DEFAULT_MAX_OPEN_ACCEPTANCES = 256

export interface SlotAcceptanceComponents {
  /**
   * Checks the node holds the slot and its root (the chain service's prover); with `prove`, the node also answers
   * leaf challenges (holders' spot checks, leaf-challenge.ts).
   */
  prover: Pick<SlotProver, 'check'> & Partial<Pick<SlotProver, 'prove'>>
  /** The node's chain account (signs); absent when the node runs off chain (it then accepts no slot). */
  chain?: ChainClient | undefined
  /** Bytes this node can still take. */
  freeSpace: () => number
  /**
   * Whether a peer is a Registry-active staked node: a manifest it stores under its reservation (a repair onto this
   * node) may be tracked. Default: no peer.
   */
  isStaked?: (peerId: string) => boolean
  /**
   * Called once an acceptance is signed, with its manifest: the repair service may now track a manifest it refused
   * when the client stored it (`readmitStoredManifest`). Its failure does not undo the acceptance.
   */
  readmitManifest?: (manifestCid: CID) => Promise<void>
}

export interface SlotAcceptanceInit {
  dataDir: string
  /** Validity of a signed acceptance in seconds (default DEFAULT_ACCEPTANCE_SECONDS). */
  acceptanceSeconds?: number
  /** Default DEFAULT_MAX_OPEN_ACCEPTANCES. */
  maxOpenAcceptances?: number
  /** Test-only fault (a node faking its proofs): sign without checking it holds the slot. */
  skipHoldingCheck?: boolean
}

/** The policy as the network serves it, plus what the garbage collector and repair read. */
export interface SlotAcceptancePolicy extends SlotAcceptanceHandler {
  readonly reservations: UploadReservations
  readonly accepted: AcceptedSlots
  /** The manifests the repair service may track (`manifests.has` is `RepairServiceInit.isAcceptedManifest`). */
  readonly manifests: AcceptedManifests
}

/**
 * Creates a node's consent policy (pass it as `NetworkInit.slotAcceptance`).
 *
 * @example
 * ```ts
 * const policy = createSlotAcceptancePolicy({ prover, chain: chainService.client, freeSpace }, { dataDir })
 * const network = createNetwork({ pieceStore }, { privateKey, slotAcceptance: policy })
 * ```
 */
export function createSlotAcceptancePolicy(
  components: SlotAcceptanceComponents,
  init: SlotAcceptanceInit,
): SlotAcceptancePolicy {
  const reservations = new UploadReservations({ freeSpace: components.freeSpace })
  const accepted = new AcceptedSlots(init.dataDir)
  const manifests = new AcceptedManifests(
    { accepted, reservations, isStaked: components.isStaked ?? (() => false) },
    { dataDir: init.dataDir },
  )
  /** Expiry (unix s) of the acceptances signed lately, to bound those outstanding. */
  const open: number[] = []
  const seconds = init.acceptanceSeconds ?? DEFAULT_ACCEPTANCE_SECONDS
  const maxOpen = init.maxOpenAcceptances ?? DEFAULT_MAX_OPEN_ACCEPTANCES
  let price: { value: bigint; at: number } | undefined

  const ownPrice = async (chain: ChainClient, signal: AbortSignal | undefined): Promise<bigint> => {
    if (price === undefined || monotonicNow() - price.at > 30_000) {
      const node = await getNode(chain, { account: chain.account.address }, signal === undefined ? {} : { signal })
      price = { value: node.pricePerByteEpoch, at: monotonicNow() }
    }
    return price.value
  }

  const refuse = (reason: string) => ({ type: 'accept-response', granted: false, reason }) as const
  const admission = createUploadAdmission({
    reservations,
    chain: components.chain,
    isStaked: components.isStaked ?? (() => false),
    price: ownPrice,
  })

  return {
    reservations,
    accepted,
    manifests,
    async reserve(peer, request, options) {
      return admission.reserve(peer, request, options)
    },
    admitStore(peer, cid, bytes) {
      return reservations.admit(peer, cid, bytes)
    },
    proveLeaf: createLeafChallengeAnswerer({
      prover: components.prover,
      // On chain only Registry-active staked nodes (repairers) may challenge; off chain any peer may.
      mayChallenge: components.chain === undefined ? () => true : (components.isStaked ?? (() => false)),
    }),
    async accept(peer: string, terms: WireSlotTerms, options) {
      const chain = components.chain
      if (chain === undefined) return refuse('this node runs off chain and accepts no deal')
      // The Registry checks the expiry against the chain's clock, which need not be the wall clock (a devchain steps
      // its time): expiries are chain time.
      const { timestamp } = await chain.getBlock({ blockTag: 'latest' })
      const now = Number(timestamp)
      while (open.length > 0 && open[0]! < now) open.shift()
      if (open.length >= maxOpen) return refuse(`too many open slots: ${open.length} acceptances outstanding`)
      const own = await ownPrice(chain, options.signal)
      if (terms.maxPricePerByteEpoch < own) {
        return refuse(`price cap ${terms.maxPricePerByteEpoch} is below this node's price ${own} per byte-epoch`)
      }
      if (init.skipHoldingCheck !== true) {
        const key = { manifestCid: terms.manifestCid, slotIndex: terms.slotIndex }
        const problem = await components.prover.check(key, { root: terms.root, size: terms.size }, options)
        if (problem !== undefined) return refuse(`this node does not hold slot ${terms.slotIndex}: ${problem}`)
      }
      const expiry = now + seconds
      const acceptance = await signSlotAcceptance(chain, { terms, expiry }, options)
      await accepted.record({
        client: terms.client,
        manifestCid: terms.manifestCid,
        slotIndex: terms.slotIndex,
        root: terms.root,
        size: terms.size.toString(),
        maxPricePerByteEpoch: terms.maxPricePerByteEpoch.toString(),
        durationEpochs: terms.durationEpochs,
        nonce: acceptance.nonce.toString(),
        expiry,
        signature: acceptance.signature,
        peer,
        acceptedAt: Date.now(),
      })
      open.push(expiry)
      const manifestCid = parseCid(terms.manifestCid)
      if (manifestCid !== undefined) {
        manifests.noteAccepted(manifestCid)
        await components.readmitManifest?.(manifestCid).catch(() => {})
      }
      return { type: 'accept-response', granted: true, ...acceptance }
    },
  }
}

/** The CID in `text`, or undefined when it is none. */
function parseCid(text: string): CID | undefined {
  try {
    return CID.parse(text)
  } catch {
    return undefined
  }
}
