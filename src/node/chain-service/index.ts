/** The chain service of a storage node: confirms, proves, claims, watches, withdraws and keeps its standing. */
export {
  type ChainService,
  type ChainServiceEvent,
  type ChainServiceInit,
  createChainService,
} from './chain-service.ts'
export { createSlotProver, type SlotKey, type SlotProver } from './slot-prover.ts'
