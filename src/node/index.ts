/**
 * The node layer: the storage node daemon (provider role), the client (put, get, status) and the devnet.
 */
export { BENCH_SINK_PROTOCOL, registerBenchSink, sendToBenchSink } from './bench-sink.ts'
export { formatByteSize, parseByteSize } from './byte-size.ts'
export * from './chain-constants.ts'
export {
  type ChainService,
  type ChainServiceEvent,
  type ChainServiceInit,
  createChainService,
} from './chain-service/chain-service.ts'
export { type ClientComponents, type ClientInit, createClient, manifestPieceCid } from '../client/client.ts'
export * from './constants.ts'
export { type ControlApi, type ControlApiComponents, type ControlApiInit, createControlApi } from './control-api.ts'
export { controlRequest } from './control-client.ts'
export { createDevnet, type DevnetEvent, type DevnetInit, readDevnetState } from '../devnet/devnet.ts'
export { createFileRecordStore, createMemoryFileRecordStore, type FileRecordStoreInit } from '../client/file-records.ts'
export type * from './interface.ts'
export { defaultNodeConfig, loadNodeConfig } from './node-config.ts'
export {
  createNodeMetrics,
  NODE_METRIC_NAMES,
  type NodeMetrics,
  type NodeMetricsComponents,
  type NodeMetricsInit,
} from './node-metrics.ts'
export { addressRange, orderForPlacement } from './node-selection.ts'
export { loadOrCreatePeerKey } from './peer-key.ts'
export { mergePeerViews } from '../client/peer-views.ts'
export { registryPeerSource } from './registry-peers.ts'
export type * from './repair/interface.ts'
export { createRepairService, repairInitFromEnv } from './repair/repair-service.ts'
export { createSlotProver, type SlotKey, type SlotProver } from './chain-service/slot-prover.ts'
export {
  makeStorageDeal,
  registeredNodes,
  type StorageDeal,
  type StorageDealEvent,
  type StorageDealInit,
  withStorageDeals,
} from '../client/storage-deal.ts'
export { createStorageNode, type StorageNodeInit } from './storage-node.ts'
export { CAIRN_VERSION } from './version.ts'
