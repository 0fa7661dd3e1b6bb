/**
 * The client layer: what a user's machine does to store and read files (put, get, status), the deal it opens for a
 * put, the merged view of storage nodes and the local record of files stored.
 */

export { AUTO_RENEW_RECORD, type AutoRenewRecords, createAutoRenewRecords } from './auto-renew-records.ts'
export {
  type BrowserClient,
  type BrowserClientHost,
  type BrowserNetwork,
  createBrowserClient,
  parseBrowserNetwork,
} from './browser-client.ts'
export { type PagePutInit, type PagePutResult, putFromPage } from './browser-put.ts'
export * from './constants.ts'
export { DEFAULT_DEAL_MAX_PRICE } from './deal-defaults.ts'
export {
  type DealSlotView,
  type DealSnapshot,
  type DealView,
  type ReadDealsParams,
  readDeals,
  userDeals,
} from './deal-views.ts'
export { type DurabilityInputs, durabilityInputs, type ModelInput } from './durability-inputs.ts'
export { type DurabilityEstimate, estimateDurability, mttdlYears } from './durability-model.ts'
export { formatProbability, planRedundancy, type RedundancyPlan } from './durability-plan.ts'
export { createFileRecordStore, createMemoryFileRecordStore, type FileRecordStoreInit } from './file-records.ts'
export { type Eip1193Provider, injectedWallet } from './injected-wallet.ts'
export type * from './interface.ts'
export {
  type NameEntry,
  nameHistory,
  nameSequence,
  type PublishedName,
  publishName,
  resolveName,
  updateName,
} from './names.ts'
export { checkName, checkNameValue, MAX_NAME_BYTES, openNameValue, sealNameValue } from './names-record.ts'
export { type ClientComponents, type ClientInit, createClient } from './network-client.ts'
export {
  type CairnConnection,
  type ConnectInit,
  type ConnectionPutInit,
  connectNetwork,
  type NetworkConnection,
} from './network-connection.ts'
export {
  importPageKey,
  indexedDbKeyStore,
  type PageKeyStore,
  type PageWalletKey,
  pageWallet,
  pageWalletKey,
  parsePrivateKey,
} from './page-wallet.ts'
export { mergePeerViews } from './peer-views.ts'
export {
  assertOffersWithinCap,
  measureSlotSize,
  type NodeOffer,
  quoteStorage,
  readOffers,
  type StorageQuote,
  slotSizeUpperBound,
} from './quote.ts'
export {
  DEFAULT_SETTLE_TIMEOUT_MS,
  type RegistryNodeWatch,
  seedAddresses,
  watchRegistryNodes,
} from './registry-node-watch.ts'
export { type EndedDeal, endFileDeals } from './remove-file.ts'
export {
  type AutoRenewEntry,
  defaultRenewWithin,
  formatDuration,
  type Renewal,
  type RenewalCheck,
  renewDeal,
  renewDue,
} from './renew.ts'
export {
  makeStorageDeal,
  registeredNodes,
  type StorageDeal,
  type StorageDealEvent,
  type StorageDealInit,
  withStorageDeals,
} from './storage-deal.ts'
export * from './tree/index.ts'
