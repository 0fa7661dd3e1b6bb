/**
 * The devnet's contract: a local network of node processes, the devchain and the gateway, described by devnet.json.
 */
import type { AbortOptions } from '../storage/index.ts'

/** One node of a devnet as recorded in devnet.json. */
export interface DevnetNode {
  peerId: string
  pid: number
  multiaddrs: string[]
  api: string
  dataDir: string
  /** The node's EVM account (when the devnet runs a chain). */
  address?: `0x${string}`
}

/** The devnet's state file (DIR/devnet.json). */
export interface DevnetState {
  nodes: DevnetNode[]
  dir: string
  startedAt: number
  /** The devchain: RPC URL, contracts and the user's wallet (absent when the devnet runs without a chain). */
  chain?: DevnetChain
  /** The gateway's URL, when `cairn devnet` started one. */
  gateway?: string
}

/** The devnet process manager. */
export interface Devnet {
  start(options?: AbortOptions): Promise<DevnetState>
  stop(): Promise<void>
  state(): DevnetState
}

/** The chain part of devnet.json (`rpcUrl` and `account` are what the gateway reads; `rpc` and `user` the CLI). */
export interface DevnetChain {
  rpc: string
  rpcUrl: string
  chainId: number
  contracts: { token: `0x${string}`; registry: `0x${string}`; market: `0x${string}` }
  /** First block of the contracts (event queries start here), as a decimal string. */
  blockNumber: string
  epochSeconds: number
  /** The user's funded wallet: its address and the file holding its key. */
  user: { address: `0x${string}`; keyFile: string }
  account: `0x${string}`
}
