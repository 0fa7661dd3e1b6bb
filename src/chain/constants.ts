/**
 * Named defaults of the chain layer. Token amounts are in the token's smallest unit (18 decimals), times in seconds.
 * Production values first; `DEVNET_*` values are what the embedded devchain deploys with.
 */

/** CAIRN has 18 decimals, like ether. */
export const TOKEN_DECIMALS = 18
export const TOKEN_SYMBOL = 'CAIRN'
const CAIRN = 10n ** 18n

/** Epoch length on a production network: one hour. */
export const DEFAULT_EPOCH_SECONDS = 3600
/** Minimum stake to register a node: 1,000 CAIRN. */
export const DEFAULT_MIN_STAKE = 1_000n * CAIRN
/** Unbonding delay on a production network: 7 days. */
export const DEFAULT_UNBONDING_DELAY_SECONDS = 7 * 24 * 3600
/** Consecutive missed proofs after which a slot opens for repair. */
export const DEFAULT_MAX_MISSES = 3
/** Stake slashed per missed proof: 50 CAIRN (5% of the minimum stake). */
export const DEFAULT_SLASH_PER_MISS = 50n * CAIRN
/**
 * Emission budget of epoch 0 (the bank): at most 100 CAIRN minted per epoch. It is never split by bytes: each node's
 * reward is at most DEFAULT_REWARD_SHARE_BPS of the protocol fees its proofs burned (see docs/threat-model.md).
 */
export const DEFAULT_INITIAL_EMISSION = 100n * CAIRN
/** The emission halves every 17,520 epochs (two years of one-hour epochs). */
export const DEFAULT_HALVING_EPOCHS = 17_520
/** A suggested node price: 1e6 units per byte per epoch, about 0.75 CAIRN per GiB per 30 days of hourly epochs. */
export const DEFAULT_PRICE_PER_BYTE_EPOCH = 1_000_000n
/** Protocol fee: 10% of each slot payment, paid by the deal on top of the payment and burned at the proof. */
export const DEFAULT_PROTOCOL_FEE_BPS = 1_000
/** A node's reward for an epoch is at most 50% of the fees its proofs burned: a self-dealer loses >= 5% of P. */
export const DEFAULT_REWARD_SHARE_BPS = 5_000
/**
 * Gas of one slot proof as honest nodes send them (batched), measured on anvil: 68,000 per proof in a batch of 8
 * proofs of 4 MiB slots (a lone submitProof that writes fresh storage measured 196,000).
 */
export const PROOF_GAS = 70_000n
/** The gas price the minimum payment is sized for on a production network: 2 gwei. */
export const DEFAULT_PROOF_GAS_PRICE_WEI = 2_000_000_000n
/** The exchange rate the minimum payment assumes: 1,000 CAIRN per ether. */
export const DEFAULT_CAIRN_PER_ETHER = 1_000n
/**
 * Least payment of one slot for one epoch: a batched proof's gas at the configured gas price, in CAIRN
 * (70,000 gas x 2 gwei = 1.4e-4 ether = 0.14 CAIRN). A 0-price node is paid this much, so no deal is free.
 */
export const DEFAULT_MIN_PAYMENT_PER_SLOT_EPOCH = PROOF_GAS * DEFAULT_PROOF_GAS_PRICE_WEI * DEFAULT_CAIRN_PER_ETHER
/**
 * Gas a node's `confirmSlot` may cost, with room: measured 74,551 on anvil when the node's slot count and earnings
 * are both written from zero (its first slot, no earnings), the most a confirmation writes.
 */
export const CONFIRMATION_GAS = 100_000n
/**
 * Paid to a node by the deal when it confirms a slot, escrowed per slot at createDeal: the confirmation's gas at the
 * configured gas price, in CAIRN (100,000 gas x 2 gwei = 2e-4 ether = 0.2 CAIRN). A griefer who makes a consenting
 * node confirm and then ends the deal before its start has paid the node's gas (docs/threat-model.md).
 */
export const DEFAULT_CONFIRMATION_FEE = CONFIRMATION_GAS * DEFAULT_PROOF_GAS_PRICE_WEI * DEFAULT_CAIRN_PER_ETHER
/** Most slots one node may hold: bounds the proofs (gas) a node owes per epoch to 4,096 (128 batch transactions). */
export const DEFAULT_MAX_SLOTS_PER_NODE = 4_096
/** Response window on a production network: 25 blocks (5 minutes of 12 s blocks) after the epoch's seed. */
export const DEFAULT_RESPONSE_WINDOW_BLOCKS = 25

/** Devchain epoch length: 20 seconds, so a devnet shows proofs, misses and repairs within minutes. */
export const DEVNET_EPOCH_SECONDS = 20
/**
 * Devchain minimum payment per slot per epoch: 1e9 units (1e-9 CAIRN, a KiB at the default price). Devnet ether is
 * free, so the proof's gas costs nothing in CAIRN; the minimum only keeps a 0-price deal from being free.
 */
export const DEVNET_MIN_PAYMENT_PER_SLOT_EPOCH = 1_000_000_000n
/** Devchain confirmation fee: none. Devnet ether is free, so a confirmation costs a node nothing in CAIRN. */
export const DEVNET_CONFIRMATION_FEE = 0n
/**
 * Devchain response window: 60 blocks. anvil mines a block each second and one per transaction, so this is at most
 * 60 s (three 20 s epochs) and at least what 60 transactions take: room for a node's tick (1 s) and its proof batch.
 */
export const DEVNET_RESPONSE_WINDOW_BLOCKS = 60
/** Devchain unbonding delay: one minute. */
export const DEVNET_UNBONDING_DELAY_SECONDS = 60
/** CAIRN given to every funded devchain account at deployment (the genesis allocation). */
export const DEVNET_ACCOUNT_TOKENS = 1_000_000n * CAIRN
/** Ether given to every funded devchain account (anvil `--balance`). */
export const DEVNET_ACCOUNT_ETHER = 10_000
/** Funded devchain accounts. */
export const DEVNET_ACCOUNTS = 10
/** Devchain chain ID (anvil's default). */
export const DEVNET_CHAIN_ID = 31_337
/** anvil's block time on the devchain, in seconds (with mixed mining: transactions are also mined at once). */
export const DEVNET_BLOCK_TIME = 1
/** anvil writes its state file this often (seconds), so even a SIGKILL loses at most this much. */
export const DEVNET_STATE_INTERVAL = 1
/** The well-known test mnemonic anvil and Hardhat use: devchain keys are public, never use them elsewhere. */
export const DEVNET_MNEMONIC = 'test test test test test test test test test test test junk'
/** How long startDevchain waits for anvil to listen. */
export const DEVCHAIN_START_TIMEOUT_MS = 30_000

/** How often clients poll for receipts and events on a local chain (ms). */
export const LOCAL_POLLING_INTERVAL_MS = 50
/** How often clients poll on a remote chain (ms). */
export const DEFAULT_POLLING_INTERVAL_MS = 2_000
/** Deadline for one transaction to be mined (ms). */
export const DEFAULT_TRANSACTION_TIMEOUT_MS = 120_000

/**
 * Most slot proofs `submitProofs` puts in one transaction: 32 proofs of 100 GiB slots are about 64 KiB of calldata
 * and 2.5 M gas, well inside a block and a node's 128 KiB transaction size limit.
 */
export const DEFAULT_MAX_PROOFS_PER_TRANSACTION = 32

/** Leaf size of the slot Merkle tree (must equal the storage layer's MERKLE_LEAF_SIZE and SlotMerkle.LEAF_SIZE). */
export const SLOT_LEAF_SIZE = 1024

/** File names inside a devchain folder. */
export const DEVCHAIN_FILES = {
  state: 'anvil-state.json',
  pid: 'anvil.pid',
  deployment: 'contracts.json',
  log: 'anvil.log',
} as const
