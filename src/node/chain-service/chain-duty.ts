/** What the duties of the chain service (confirm, prove, claim, watch, withdraw, keep standing) share. */
import type { Address } from 'viem'
import type { ChainClient } from '../../chain/index.ts'
import type { ChainServiceComponents, ChainServiceEvent, ChainServiceInit } from './interface.ts'
import type { SlotProver } from './slot-prover.ts'

/** The chain service's shared parts; each duty takes the few it uses (`Pick<ChainDutyContext, ...>`). */
export interface ChainDutyContext {
  client: ChainClient
  /** The node's chain account (its Registry entry). */
  account: Address
  components: ChainServiceComponents
  init: ChainServiceInit
  prover: SlotProver
  emit: (event: ChainServiceEvent) => void
  /** Epoch of each slot's last accepted proof, by `dealId:slotIndex` (set by proofs and takeovers). */
  provedEpoch: Map<string, number>
  /** Slots whose damaged pieces are being healed after a proof could not be built from this node's disk. */
  healing: Set<string>
  /**
   * The epoch whose proof each slot could not build from this node's disk, by `dealId:slotIndex`: that epoch is
   * missed, even once the slot is healed, so that fetching at proof time never answers a challenge.
   */
  missedEpoch: Map<string, number>
}
