/** The chain service of a storage node: confirms, proves, claims, watches, withdraws and keeps its standing. */
export { createChainService } from './chain-service.ts'
export * from './constants.ts'
export type {
  ChainService,
  ChainServiceComponents,
  ChainServiceEvent,
  ChainServiceInit,
  MarketView,
  MarketViewDeal,
} from './interface.ts'
export { createPieceLeafCache, type PieceLeafCache } from './piece-leaf-cache.ts'
export { createSlotProver, type SlotKey, type SlotProver } from './slot-prover.ts'
