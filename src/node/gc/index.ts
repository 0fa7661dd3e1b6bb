/** The garbage collector of a storage node on chain: deletes the pieces no running deal, acceptance or repair needs. */
export * from './constants.ts'
export type * from './interface.ts'
export { manifestCidOfText, type NeededSlot, neededSlotKey, neededSlots } from './needed-slots.ts'
export { createPieceCollector } from './piece-collector.ts'
