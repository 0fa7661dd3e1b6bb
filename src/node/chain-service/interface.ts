/** The chain service's contract: its events, what it is built from, and what it offers the node. */
import type { CID } from 'multiformats/cid'
import type { Address } from 'viem'
import type { ChainClient, ChainContracts } from '../../chain/index.ts'
import type { PieceStore } from '../../storage/index.ts'
import type { AbortOptions } from '../index.ts'
import type { PieceLeafCache } from './piece-leaf-cache.ts'

/** What a node reports about its chain work (the daemon prints them as JSON lines to its log). */
export type ChainServiceEvent =
  | { type: 'chain:registered'; account: Address; stake: string }
  | { type: 'chain:endpoints'; account: Address }
  | { type: 'chain:staked'; amount: string }
  | { type: 'chain:unjailed'; account: Address }
  | { type: 'chain:confirmed'; dealId: string; slot: number }
  | { type: 'chain:refused'; dealId: string; slot: number; reason: string }
  | { type: 'chain:proved'; dealId: string; slot: number; epoch: number; transactionHash: string }
  | { type: 'chain:reported'; dealId: string; slot: number; missed: number; opened: boolean }
  | { type: 'chain:withdrew'; earnings: string; rewards: string }
  | { type: 'chain:closed'; dealId: string; transactionHash: string }
  | { type: 'chain:repair-pending'; manifestCid: string; slot: number }
  | { type: 'chain:repaired'; dealId: string; slot: number; epoch: number; bounty: string }
  | { type: 'chain:repair-dropped'; manifestCid: string; slot: number; reason: string }
  | { type: 'chain:healed'; dealId: string; slot: number; pieces: number }
  | { type: 'chain:error'; action: string; message: string }

export interface ChainServiceComponents {
  pieceStore: Pick<PieceStore, 'get' | 'has'>
  /** The node's libp2p identity and current addresses (registered in the Registry). */
  peerId: () => string
  multiaddrs: () => string[]
  /** Bytes the node offers (its quota). */
  capacity: () => bigint
  /** Rebuilds a missing or corrupt piece of this node's slots from the other holders (the repair service's). */
  healPiece?: (cid: CID, options?: AbortOptions) => Promise<Uint8Array>
  /** Leaf hashes of the pieces as this node received them: a slot's tree is then built without rereading it. */
  pieceLeaves?: Pick<PieceLeafCache, 'get' | 'delete'>
}

export interface ChainServiceInit {
  rpcUrl: string
  /** More endpoints of the chain, tried in order when `rpcUrl` fails. */
  fallbackRpcUrls?: readonly string[]
  chainId: number
  contracts: ChainContracts
  privateKey: `0x${string}`
  dataDir: string
  /** First block to read events from (the deployment's); later starts go on from the saved cursor (chain-state.json). */
  fromBlock?: bigint
  /** Widest eth_getLogs block range (default DEFAULT_LOG_BLOCK_RANGE, 2,000). */
  logBlockRange?: number
  pricePerByteEpoch?: bigint
  stake?: bigint
  pollMs?: number
  /** Report other nodes' missed proofs (default true). */
  watcher?: boolean
  /** Withdraw when earnings + rewards reach this many token units (default: DEFAULT_WITHDRAW_MIN). */
  withdrawMin?: bigint
  /** Most slot proofs sent in one transaction (default DEFAULT_MAX_PROOFS_PER_TRANSACTION, 32). */
  proofsPerTransaction?: number
  /** Test-only fault: confirm without checking and answer challenges with made-up data. */
  fakeProofs?: boolean
  onEvent?: (event: ChainServiceEvent) => void
}

export interface ChainService {
  readonly account: Address
  /** Registers or updates the Registry entry; then runs the epoch loop until stop(). */
  start(): Promise<void>
  stop(): Promise<void>
  /**
   * Takes over on chain a slot this node rebuilt off-chain (the repair service's `onSlotRepaired`): remembered in the
   * data dir; once the chain opened the slot (after `maxMisses` reported misses) the node calls `repairSlot` with a
   * proof against the slot root, then proves the slot every epoch. Harmless when someone else took it first.
   */
  claimSlot(params: { manifestCid: string; slot: number }, options?: AbortOptions): Promise<void>
  /** Active nodes' multiaddrs from the Registry (a bootstrap source). */
  client: ChainClient
  /**
   * The node's book of the Market as of its last successful read, or undefined before the first one of this process
   * (the garbage collector deletes nothing until the book is read).
   */
  marketView(): MarketView | undefined
}

/** One deal of the book as the garbage collector sees it. */
export interface MarketViewDeal {
  dealId: bigint
  owner: Address
  manifestCid: string
  /** First epoch after the deal. */
  endEpoch: number
  slots: ReadonlyArray<
    { index: number; node: Address; state: 'pending' | 'active' | 'open'; root: string; size: bigint } | undefined
  >
}

/** The Market's running deals (closed deals and deals ended some epochs ago have left it) at one block. */
export interface MarketView {
  /** The node's chain account. */
  account: Address
  /** The epoch of the block the book was read to. */
  epoch: number
  /** That block's time (Unix seconds, the chain's clock: acceptance expiries are on it). */
  chainTime: number
  /** When that read finished (ms on the node's monotonic clock, `performance.now()`: compare, never show). */
  readAt: number
  deals: () => Iterable<MarketViewDeal>
}

/** One slot rebuilt off-chain waiting to be taken over on chain (an entry of `chain-repairs.json`). */
export interface PendingChainRepair {
  manifestCid: string
  slot: number
  /** The chain epoch when the node first looked at it (the repair is given up some epochs later). */
  firstEpoch?: number
}
