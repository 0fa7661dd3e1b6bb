/**
 * The chain layer: Cairn's contracts (Token, Registry, Market), their typed ABIs, the embedded devchain, and viem
 * actions as plain functions `(client, params, options)`. Any EVM chain works by configuration: RPC URL, chain ID,
 * contract addresses and a private key (from a file or the environment).
 */
export { createChainClient, createChainReader } from './chain-client.ts'
export * from './constants.ts'
export { decodeRevert, revertDataToError, toCairnError } from './contract-errors.ts'
export {
  type CreateDealParams,
  type CreatedDeal,
  closeDeal,
  confirmSlot,
  createDeal,
  endDeal,
  getConfirmationFee,
  getDeal,
  getDealCount,
  getNodeSlots,
  getSlot,
  getSlots,
  type HeldSlotRecord,
  quoteDeal,
  topUpDeal,
  withdrawEarnings,
} from './deal-actions.ts'
export { chainParams, type DeployInit, deployContracts } from './deploy.ts'
export { anvilBinary, devnetPrivateKeys, hasDevchain, startDevchain } from './devchain.ts'
export { holdDevchainClock, releaseDevchainClock } from './devchain-clock.ts'
export { cairnTokenAbi, marketAbi, namesAbi, registryAbi } from './generated/index.ts'
export type * from './interface.ts'
export { createEventLog, type EventLog, type LogQuery, logWindowOf, readChainLogs } from './log-reader.ts'
export {
  getNameHead,
  isSequenceConflict,
  MAX_NAME_VALUE_BYTES,
  type NameHead,
  nameIdOf,
  namesContract,
  type PublishedNameRecord,
  publishNameRecord,
} from './names-actions.ts'
export { type NameRecord, readNameRecords } from './names-history.ts'
export {
  bootstrapProblem,
  formatNetworkFile,
  iceServersProblem,
  MAX_BOOTSTRAP_ADDRESSES,
  MAX_ICE_SERVERS,
  MAX_RPC_URLS,
  NETWORK_FILE,
  NETWORK_FILE_FORMAT,
  type NetworkFile,
  networkChain,
  parseNetworkFile,
  readNetworkFile,
  writeNetworkFile,
} from './network-file.ts'
export {
  acceptNode,
  addStake,
  getNode,
  getOperator,
  listActiveNodes,
  type RegisterParams,
  registerNode,
  setOperator,
  unbondNode,
  unjailNode,
  updateEndpoints,
  updateOffer,
  withdrawStake,
} from './node-actions.ts'
export { loadPrivateKey, PRIVATE_KEY_ENV } from './private-key.ts'
export {
  drawSeed,
  getChallenge,
  getEpochInfo,
  type ProofBatchOptions,
  proveSlot,
  proveSlots,
  repairSlot,
  reportMissed,
  submitProof,
  submitProofs,
} from './proof-actions.ts'
export * from './rpc-limits.ts'
export {
  backoffHttp,
  isBlockRangeError,
  isRateLimitError,
  type RpcBackoffInit,
  RpcGaveUpError,
  RpcMethodRefusedError,
} from './rpc-transport.ts'
export {
  type AcceptanceDomain,
  encodeSlotAcceptance,
  randomAcceptanceNonce,
  type SlotAcceptance,
  type SlotTerms,
  signDealAcceptances,
  signSlotAcceptance,
  slotAcceptanceSigner,
  slotAcceptanceTypedData,
} from './slot-acceptance.ts'
export {
  approve,
  getBalances,
  type PermitSignature,
  type Spender,
  sendEther,
  signPermit,
  transferTokens,
} from './token-actions.ts'
export { type ChainEvent, getChainEvents, watchChainEvents } from './watch-events.ts'
