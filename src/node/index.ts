/**
 * The node layer: the storage node daemon (provider role), with its repair and chain-service rooms.
 */
export { BENCH_SINK_PROTOCOL, registerBenchSink, sendToBenchSink } from './bench-sink.ts'
export { formatByteSize, parseByteSize } from './byte-size.ts'
export * from './chain-service/index.ts'
export * from './constants.ts'
export { type ControlApi, type ControlApiComponents, type ControlApiInit, createControlApi } from './control-api.ts'
export { controlRequest } from './control-client.ts'
export * from './gc/index.ts'
export type * from './interface.ts'
export {
  createNodeMetrics,
  NODE_METRIC_NAMES,
  type NodeMetrics,
  type NodeMetricsComponents,
  type NodeMetricsInit,
} from './node-metrics.ts'
export {
  composeNodeOptions,
  defaultNodeOptions,
  loadNodeOptions,
  NODE_OPTION_KEYS,
  NODE_OPTION_SECTIONS,
  NODE_OPTION_SPECS,
  type NodeOptionKey,
  type NodeOptionSpec,
  type NodeOptionValue,
  parseNodeOptionsFile,
  serializeNodeOptionsFile,
  setNodeOption,
} from './node-options.ts'
export { addressRange, orderForPlacement } from './node-selection.ts'
export { loadOrCreatePeerKey } from './peer-key.ts'
export { MAX_REGISTERED_ADDRESSES, registryAddresses } from './registry-addresses.ts'
export * from './repair/index.ts'
export { createStorageNode, type NodeChainConnection, type StorageNodeInit } from './storage-node.ts'
export { BALANCE_CACHE_MS, createUploadAdmission, type UploadAdmission } from './upload-admission.ts'
export {
  MAX_TICKET_SECONDS,
  signUploadTicket,
  type UploadTicketDomain,
  type UploadTicketSigner,
  uploadTicketProblem,
  uploadTicketSigner,
  uploadTicketTypedData,
} from './upload-ticket.ts'
export { CAIRN_VERSION } from './version.ts'
