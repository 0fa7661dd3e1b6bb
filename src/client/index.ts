/**
 * The client layer: what a user's machine does to store and read files (put, get, status), the deal it opens for a
 * put, the merged view of storage nodes and the local record of files stored.
 */
export * from './constants.ts'
export {
  type DealSlotView,
  type DealSnapshot,
  type DealView,
  type ReadDealsParams,
  readDeals,
  userDeals,
} from './deal-views.ts'
export { createFileRecordStore, createMemoryFileRecordStore, type FileRecordStoreInit } from './file-records.ts'
export type * from './interface.ts'
export { type ClientComponents, type ClientInit, createClient } from './network-client.ts'
export { mergePeerViews } from './peer-views.ts'
export {
  makeStorageDeal,
  registeredNodes,
  type StorageDeal,
  type StorageDealEvent,
  type StorageDealInit,
  withStorageDeals,
} from './storage-deal.ts'
