/**
 * What the chain says about proofs during a chaos run: the devnet's epoch, each node's chain address, and every
 * ProofAccepted and ProofMissed of the Market since the contracts' deployment, read with the test's own reader straight
 * from anvil (never through a proxy the scenario cuts).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { privateKeyToAccount } from 'viem/accounts'
import { type ChainReader, createChainReader, getEpochInfo, marketAbi } from '../../src/chain/index.ts'
import type { DevnetChain } from '../../src/devnet/index.ts'
import { waitFor } from '../e2e/devnet-fixture.ts'

export interface ProofEvent {
  node: string
  dealId: bigint
  slot: bigint
  epoch: number
  /** ProofMissed only: stake slashed for it (0 for a slot never confirmed). */
  slashed?: bigint
}

export interface ChainWatch {
  rpcUrl: string
  reader: ChainReader
  /** The Market's current epoch (chain time of the latest block). */
  epoch(): Promise<number>
  /** Waits until the chain's epoch is at least `epoch`. */
  untilEpoch(epoch: number, timeoutMs: number): Promise<number>
  /** The chain address of devnet node `dataDir` (its chain.key). */
  addressOf(dataDir: string): Promise<string>
  accepted(): Promise<ProofEvent[]>
  missed(): Promise<ProofEvent[]>
  /** Every SlotConfirmed: `epoch` is the first epoch the holder must prove (the epoch it confirmed in, or later). */
  confirmed(): Promise<ProofEvent[]>
}

/** A reader of the devnet in `dir` (devnet.json's chain part). */
export async function watchChain(dir: string): Promise<ChainWatch> {
  const state = JSON.parse(await readFile(join(dir, 'devnet.json'), 'utf8')) as { chain?: DevnetChain }
  const chain = state.chain
  if (chain === undefined) throw new Error('the devnet runs without a chain: scenario 8 needs one')
  const reader = createChainReader({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, contracts: chain.contracts })
  const fromBlock = BigInt(chain.blockNumber)
  const epoch = async () => (await getEpochInfo(reader)).epoch
  return {
    rpcUrl: chain.rpcUrl,
    reader,
    epoch,
    untilEpoch: (target, timeoutMs) =>
      waitFor(async () => ((await epoch()) >= target ? epoch() : undefined), timeoutMs, `chain epoch ${target}`),
    async addressOf(dataDir) {
      const key = (await readFile(join(dataDir, 'chain.key'), 'utf8')).trim() as `0x${string}`
      return privateKeyToAccount(key).address.toLowerCase()
    },
    async accepted() {
      const logs = await reader.getContractEvents({
        address: chain.contracts.market,
        abi: marketAbi,
        eventName: 'ProofAccepted',
        fromBlock,
      })
      return logs.map((l) => ({
        node: l.args.node!.toLowerCase(),
        dealId: l.args.dealId!,
        slot: l.args.slot!,
        epoch: Number(l.args.epoch!),
      }))
    },
    async missed() {
      const logs = await reader.getContractEvents({
        address: chain.contracts.market,
        abi: marketAbi,
        eventName: 'ProofMissed',
        fromBlock,
      })
      return logs.map((l) => ({
        node: l.args.node!.toLowerCase(),
        dealId: l.args.dealId!,
        slot: l.args.slot!,
        epoch: Number(l.args.epoch!),
        slashed: l.args.slashed!,
      }))
    },
    async confirmed() {
      const logs = await reader.getContractEvents({
        address: chain.contracts.market,
        abi: marketAbi,
        eventName: 'SlotConfirmed',
        fromBlock,
      })
      return logs.map((l) => ({
        node: l.args.node!.toLowerCase(),
        dealId: l.args.dealId!,
        slot: l.args.slot!,
        epoch: Number(l.args.fromEpoch!),
      }))
    },
  }
}

/**
 * The misses of `missed` in the very epoch their slot was confirmed in (the Market makes the epoch of a confirmation
 * due at once, however little of it is left).
 */
export function confirmationEpochMisses(missed: ProofEvent[], confirmed: ProofEvent[]): ProofEvent[] {
  return missed.filter((m) =>
    confirmed.some((c) => c.dealId === m.dealId && c.slot === m.slot && c.node === m.node && c.epoch === m.epoch),
  )
}
