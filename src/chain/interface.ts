import type {
  Account,
  Address,
  Chain,
  Client,
  Hex,
  PublicActions,
  PublicClient,
  RpcSchema,
  Transport,
  WalletActions,
} from 'viem'

/** Addresses of the three Cairn contracts on one chain. */
export interface ChainContracts {
  token: Address
  registry: Address
  market: Address
  /** The Names contract (absent in network files written before names existed). */
  names?: Address
}

/** Parameters the contracts are deployed with (immutable afterwards). */
export interface ChainParams {
  epochSeconds: number
  minStake: bigint
  unbondingDelaySeconds: number
  maxMisses: number
  slashPerMiss: bigint
  initialEmission: bigint
  halvingEpochs: number
  /** Protocol fee in basis points of a slot's payment: escrowed on top of the payment, burned at each proof. */
  protocolFeeBps: number
  /** A node's reward for an epoch is at most this share (basis points, below 10,000) of the fees it burned. */
  rewardShareBps: number
  /** Least payment of one slot for one epoch, whatever the node's price (token units). */
  minPaymentPerSlotEpoch: bigint
  /** Most slots one node may hold at once. */
  maxSlotsPerNode: number
  /** Blocks after the epoch's seed within which a proof is accepted. */
  responseWindowBlocks: number
  /** Paid to a slot's node at its confirmation, escrowed per slot at createDeal (token units; 0 for none). */
  confirmationFee: bigint
}

/** What `deployContracts` returns and the devchain saves beside its state as contracts.json. */
export interface Deployment {
  chainId: number
  contracts: ChainContracts
  params: ChainParams
  /** Unix seconds of epoch 0. */
  genesis: number
  /** Block of the Market's deployment: a start for event queries. */
  blockNumber: bigint
  /** Accounts that received the genesis allocation, with the amount each. */
  allocation: Array<{ account: Address; amount: bigint }>
}

/** A viem wallet client (with an account) extended with public actions and the contract addresses. */
export type ChainClient = Client<
  Transport,
  Chain,
  Account,
  RpcSchema | undefined,
  PublicActions<Transport, Chain, Account> &
    WalletActions<Chain, Account> & {
      contracts: ChainContracts
      logBlockRange?: number
      /** The lock file serialising this account's transactions across processes (see accountTurn); none: in-process only. */
      transactionLock?: string
    }
>

/** Read-only access: a viem public client and the contract addresses. A `ChainClient` is one too. */
export type ChainReader = Pick<
  PublicClient<Transport, Chain>,
  'readContract' | 'getBlock' | 'getBalance' | 'getBlockNumber' | 'getContractEvents'
> & {
  contracts: ChainContracts
  /** Widest eth_getLogs block range this client asks for (default DEFAULT_LOG_BLOCK_RANGE, 2,000). */
  logBlockRange?: number
  /** How often pollers (event watches, receipts) ask again, in ms. */
  pollingInterval?: number
}

/** Settings to reach any EVM chain. */
export interface ChainClientInit {
  rpcUrl: string
  /** More endpoints of the same chain, tried in order when a request to `rpcUrl` fails (down, reset, 5xx). */
  fallbackRpcUrls?: readonly string[]
  chainId: number
  /** 0x-prefixed secp256k1 key (see `loadPrivateKey` to read it from a file or the environment). */
  privateKey: Hex
  contracts: ChainContracts
  /** Receipt and event polling interval, ms (default: 50 on 127.0.0.1/localhost, 2000 elsewhere). */
  pollingInterval?: number
  /** Send concurrent JSON-RPC requests in one HTTP batch (default false). */
  batch?: boolean
  /** Widest eth_getLogs block range (default DEFAULT_LOG_BLOCK_RANGE, 2,000; halved whenever the endpoint refuses). */
  logBlockRange?: number
  /** Retries of a request refused for its rate or failing transiently (default DEFAULT_RPC_RETRIES). */
  rpcRetries?: number
  /**
   * Folder of the account's transaction lock file (`wallet-<address>.lock`; the CLI and the gateway pass the client
   * home): processes sharing it send one transaction of the account at a time. Without it, only within this process.
   */
  transactionLockDir?: string
}

export interface ChainReaderInit {
  rpcUrl: string
  /** More endpoints of the same chain, tried in order when a request to `rpcUrl` fails (down, reset, 5xx). */
  fallbackRpcUrls?: readonly string[]
  chainId: number
  contracts: ChainContracts
  pollingInterval?: number
  batch?: boolean
  /** Widest eth_getLogs block range (default DEFAULT_LOG_BLOCK_RANGE, 2,000). */
  logBlockRange?: number
  /** Retries of a request refused for its rate or failing transiently (default DEFAULT_RPC_RETRIES). */
  rpcRetries?: number
}

/** Options of every async call: a caller's signal (each call adds its own deadline). */
export interface ChainCallOptions {
  signal?: AbortSignal
  /** Reads (getDeal, getSlot, getSlots, getDealCount, getNode) see the state as of this block: one snapshot. */
  blockNumber?: bigint
}

/** The embedded devchain: anvil as a child process plus the deployed contracts. */
export interface Devchain {
  rpcUrl: string
  chainId: number
  contracts: ChainContracts
  deployment: Deployment
  /** Private keys of the funded test accounts (ether and CAIRN); index 0 deployed the contracts. */
  accounts: Hex[]
  /** Process id of anvil. */
  pid: number
  /** True when this start deployed the contracts, false when it resumed a saved chain. */
  deployed: boolean
  /** Stops anvil (SIGTERM: it saves its state first) and removes the pid file. */
  stop(): Promise<void>
}

export interface DevchainInit {
  /** Data folder: anvil's state file, the pid file and contracts.json live here. */
  dir: string
  /** Epoch length in seconds (used at first deployment; a resumed chain keeps its deployed value). */
  epochSeconds?: number
  /** Port on 127.0.0.1 (0 or absent: any free port). */
  port?: number
  /** Funded test accounts (default 10). */
  accounts?: number
  /** anvil block time in seconds; 0 mines only on transactions (tests move time with increaseTime). Default 1. */
  blockTime?: number
  /** Overrides of the deployed parameters (devnet values by default). */
  params?: Partial<ChainParams>
}

/** Registry status of a node, as the contract's enum. */
export type NodeStatus = 'none' | 'active' | 'jailed' | 'unbonding' | 'exited'

/** A node as the Registry records it. */
export interface NodeRecord {
  account: Address
  status: NodeStatus
  stake: bigint
  pricePerByteEpoch: bigint
  capacity: bigint
  /** Unix seconds when an unbonding node may withdraw its stake (0 when not unbonding). */
  unbondAt: number
  activeSlots: number
  missedProofs: number
  /** Last epoch the node proved any slot in; undefined when it never proved. */
  lastProvedEpoch: number | undefined
  peerId: string
  multiaddrs: string[]
}

export type SlotState = 'pending' | 'active' | 'open'

export interface SlotRecord {
  index: number
  root: Hex
  /** The holder (or the named node while pending, or the former holder while open). */
  node: Address
  /** First epoch not yet proven or reported. */
  nextEpoch: number
  state: SlotState
  misses: number
  size: bigint
  pricePerByteEpoch: bigint
  /** Slashed stake waiting for the repairer. */
  bounty: bigint
}

export interface DealRecord {
  id: bigint
  owner: Address
  manifestCid: string
  size: bigint
  k: number
  n: number
  startEpoch: number
  /** First epoch after the deal. */
  endEpoch: number
  escrow: bigint
  paymentPerEpoch: bigint
  maxPricePerByteEpoch: bigint
  closed: boolean
}

/** The current epoch as the chain sees it (latest block). */
export interface EpochInfo {
  epoch: number
  genesis: number
  epochSeconds: number
  /** Unix seconds of the latest block. */
  now: number
  /** Unix seconds when the current epoch ends (its proofs are due before). */
  endsAt: number
}

/** The leaf a slot must prove in the current epoch (for one prover: the holder, or a repairer of an open slot). */
export interface Challenge {
  epoch: number
  leafIndex: number
  leafLength: number
  leafCount: number
}

/** A leaf and its Merkle path, as the storage layer's `merkleProof` returns it. */
export interface SlotProof {
  leaf: Uint8Array
  proof: Uint8Array[]
}

/** One slot's proof for `submitProofs`: the slot and its challenged leaf with the Merkle path. */
export interface SlotProofInput extends SlotProof {
  dealId: bigint
  slotIndex: number
}

/** A slot to prove with `proveSlots`. */
export interface SlotToProve {
  dealId: bigint
  slotIndex: number
}

/**
 * What became of one slot's proof in a batch. Accepted: paid `payment` for `epoch` in `transactionHash`. Not accepted:
 * `error` says why (a Market rejection is the decoded custom error, e.g. `details.errorName === 'InvalidProof'`);
 * `transactionHash` is set only when the proof was in a mined batch and the Market rejected it there, absent when it
 * was never sent (a dry run showed the rejection, it could not be built, or the whole transaction failed).
 */
export type ProofOutcome =
  | { dealId: bigint; slotIndex: number; accepted: true; epoch: number; payment: bigint; transactionHash: Hex }
  | { dealId: bigint; slotIndex: number; accepted: false; error: Error; epoch?: number; transactionHash?: Hex }

/** How an action pays: one transaction with an EIP-2612 permit (default), or a prior `approve`. */
export type PaymentMethod = 'permit' | 'allowance'

export interface Balances {
  account: Address
  /** Native coin (gas), in wei. */
  ether: bigint
  /** CAIRN in the wallet. */
  tokens: bigint
  /** CAIRN staked in the Registry. */
  stake: bigint
  /** Deal payments and repair bounties the Market owes (withdrawable). */
  earnings: bigint
  /** Emission rewards (minted at withdrawal), including the share of the last proved epoch once closed. */
  rewards: bigint
  allowance: { market: bigint; registry: bigint }
}
