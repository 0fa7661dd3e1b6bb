/** Named defaults and data-dir files of a node's chain service (applied as `init.x ?? DEFAULT_X`). */
import {
  DEFAULT_MAX_MISSES,
  DEFAULT_MIN_STAKE,
  DEFAULT_PRICE_PER_BYTE_EPOCH,
  DEFAULT_SLASH_PER_MISS,
  TOKEN_DECIMALS,
} from '../../chain/index.ts'

const CAIRN = 10n ** BigInt(TOKEN_DECIMALS)

/** How often a node reads the chain (epoch, its slots, challenges). */
export const DEFAULT_CHAIN_POLL_MS = 1_000
/** A node's price per byte per epoch (token units) when neither flag nor config names one. */
export const DEFAULT_NODE_PRICE_PER_BYTE_EPOCH = DEFAULT_PRICE_PER_BYTE_EPOCH
/**
 * Stake a node locks when it registers: the Registry's default minimum plus a margin of one slot's worth of misses
 * (maxMisses x slashPerMiss). At exactly the minimum, the first missed proof of a busy epoch jails the node, and a
 * jailed node takes no new deal until it tops up (seen: a 512 MiB benchmark jailed two holders and the next put found
 * too few eligible nodes). With the margin a miss costs its slash and the node stays active.
 */
export const DEFAULT_NODE_STAKE = DEFAULT_MIN_STAKE + BigInt(DEFAULT_MAX_MISSES) * DEFAULT_SLASH_PER_MISS
/** A node withdraws once its earnings and rewards reach this (token units): 1 CAIRN, worth a transaction's gas. */
export const DEFAULT_WITHDRAW_MIN = CAIRN
/** A node withdraws at most once per this many epochs (each withdrawal is a transaction). */
export const DEFAULT_WITHDRAW_EVERY_EPOCHS = 10
/** Folder of the cached slot Merkle leaves inside a node's data dir. */
export const SLOT_CACHE_DIR = 'slots'
/** A devnet node's EVM key file inside its data dir. */
export const CHAIN_KEY_FILE = 'chain.key'
/** File of the slots a node rebuilt off-chain and still has to take over on chain (`repairSlot`), in its data dir. */
export const CHAIN_REPAIRS_FILE = 'chain-repairs.json'
/**
 * How long a node keeps trying to take over a slot it rebuilt, in epochs beyond the chain's `maxMisses` (the slot
 * opens only after that many missed epochs are reported): afterwards someone else took it, or it never opens.
 */
export const DEFAULT_CHAIN_REPAIR_EXTRA_EPOCHS = 6
/** The node's book of the Market's running deals and the last block read (`market-book.ts`), in its data dir. */
export const CHAIN_STATE_FILE = 'chain-state.json'
/** The book is saved at least this often while its cursor moves without events (ms); at once when events changed it. */
export const CHAIN_STATE_SAVE_MS = 60_000
