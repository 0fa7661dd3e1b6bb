import { type Hex, parseEventLogs, toHex } from 'viem'
import { toCairnError } from './contract-errors.ts'
import { marketAbi } from './generated/index.ts'
import type { ChainCallOptions, ChainClient, ChainReader, Challenge, EpochInfo, SlotProof } from './interface.ts'
import { sendTransaction } from './transaction.ts'

function proofArgs(proof: SlotProof): [Hex, Hex[]] {
  return [toHex(proof.leaf), proof.proof.map((h) => toHex(h))]
}

/**
 * The chain's current epoch, from the latest block's time.
 *
 * @example
 * ```ts
 * const { epoch, endsAt } = await getEpochInfo(reader)
 * ```
 */
export async function getEpochInfo(client: ChainReader, options: ChainCallOptions = {}): Promise<EpochInfo> {
  try {
    const market = client.contracts.market
    const [genesis, epochSeconds, block] = await Promise.all([
      client.readContract({ address: market, abi: marketAbi, functionName: 'genesis' }),
      client.readContract({ address: market, abi: marketAbi, functionName: 'epochSeconds' }),
      client.getBlock({ blockTag: 'latest' }),
    ])
    const now = Number(block.timestamp)
    const epoch = Math.floor((now - Number(genesis)) / Number(epochSeconds))
    return {
      epoch,
      genesis: Number(genesis),
      epochSeconds: Number(epochSeconds),
      now,
      endsAt: Number(genesis) + (epoch + 1) * Number(epochSeconds),
    }
  } catch (error) {
    throw toCairnError(error, 'getEpochInfo', options.signal)
  }
}

/**
 * Draws the current epoch's challenge seed (a no-op transaction cost when already drawn; check with `getChallenge`).
 *
 * @example
 * ```ts
 * await drawSeed(client)
 * ```
 */
export async function drawSeed(client: ChainClient, options: ChainCallOptions = {}) {
  return sendTransaction(
    client,
    'drawSeed',
    { address: client.contracts.market, abi: marketAbi, functionName: 'drawSeed', args: [] },
    options,
  )
}

/**
 * The leaf a slot must prove in the current epoch; undefined when the epoch's seed is not drawn yet.
 *
 * @example
 * ```ts
 * const challenge = await getChallenge(reader, { dealId, slotIndex })
 * ```
 */
export async function getChallenge(
  client: ChainReader,
  params: { dealId: bigint; slotIndex: number },
  options: ChainCallOptions = {},
): Promise<Challenge | undefined> {
  const market = client.contracts.market
  try {
    const [epoch, leafIndex, leafLength, leafCount] = await client.readContract({
      address: market,
      abi: marketAbi,
      functionName: 'challenge',
      args: [params.dealId, BigInt(params.slotIndex)],
    })
    return {
      epoch: Number(epoch),
      leafIndex: Number(leafIndex),
      leafLength: Number(leafLength),
      leafCount: Number(leafCount),
    }
  } catch (error) {
    const cairnError = toCairnError(error, 'getChallenge', options.signal)
    if (cairnError.details?.errorName === 'SeedNotDrawn') return undefined
    throw cairnError
  }
}

/**
 * Submits the holder's proof of the current epoch's challenged leaf.
 *
 * @example
 * ```ts
 * const levels = merkleLevels(merkleLeafHashes(slotData))
 * await submitProof(client, { dealId, slotIndex, leaf, proof: merkleProof(levels, challenge.leafIndex) })
 * ```
 */
export async function submitProof(
  client: ChainClient,
  params: { dealId: bigint; slotIndex: number } & SlotProof,
  options: ChainCallOptions = {},
) {
  return sendTransaction(
    client,
    'submitProof',
    {
      address: client.contracts.market,
      abi: marketAbi,
      functionName: 'submitProof',
      args: [params.dealId, BigInt(params.slotIndex), ...proofArgs(params)],
    },
    options,
  )
}

/**
 * The whole proving round of one slot: draws the seed if needed, asks `prove` for the challenged leaf and its path,
 * and submits them. Returns the epoch proven.
 *
 * @example
 * ```ts
 * await proveSlot(client, { dealId, slotIndex, prove: async ({ leafIndex }) => store.slotProof(dealId, leafIndex) })
 * ```
 */
export async function proveSlot(
  client: ChainClient,
  params: { dealId: bigint; slotIndex: number; prove: (challenge: Challenge) => Promise<SlotProof> },
  options: ChainCallOptions = {},
): Promise<{ epoch: number; leafIndex: number; transactionHash: Hex }> {
  let challenge = await getChallenge(client, params, options)
  if (challenge === undefined) {
    await drawSeed(client, options)
    challenge = await getChallenge(client, params, options)
    if (challenge === undefined) throw toCairnError(new Error('the seed was not drawn'), 'proveSlot')
  }
  const proof = await params.prove(challenge)
  const receipt = await submitProof(client, { dealId: params.dealId, slotIndex: params.slotIndex, ...proof }, options)
  return { epoch: challenge.epoch, leafIndex: challenge.leafIndex, transactionHash: receipt.transactionHash }
}

/**
 * Records a slot's missed epochs (anyone may call it after an epoch's deadline): slashes the holder, and opens the
 * slot for repair after the maximum of consecutive misses. Returns the epochs reported and whether the slot opened.
 *
 * @example
 * ```ts
 * const { missed, opened } = await reportMissed(client, { dealId, slotIndex })
 * ```
 */
export async function reportMissed(
  client: ChainClient,
  params: { dealId: bigint; slotIndex: number },
  options: ChainCallOptions = {},
): Promise<{ missed: number; slashed: bigint; opened: boolean; transactionHash: Hex }> {
  const receipt = await sendTransaction(
    client,
    'reportMissed',
    {
      address: client.contracts.market,
      abi: marketAbi,
      functionName: 'reportMissed',
      args: [params.dealId, BigInt(params.slotIndex)],
    },
    options,
  )
  const logs = parseEventLogs({ abi: marketAbi, logs: receipt.logs })
  let missed = 0
  let slashed = 0n
  let opened = false
  for (const log of logs) {
    if (log.eventName === 'ProofMissed') {
      missed++
      slashed += log.args.slashed
    } else if (log.eventName === 'SlotOpened') opened = true
  }
  return { missed, slashed, opened, transactionHash: receipt.transactionHash }
}

/**
 * Takes an open slot by proving the current epoch's challenge against the slot's root (the repairer must have rebuilt
 * the slot's data first); the repairer receives the slot's bounty and its remaining payments.
 *
 * @example
 * ```ts
 * await repairSlot(client, { dealId, slotIndex, leaf, proof })
 * ```
 */
export async function repairSlot(
  client: ChainClient,
  params: { dealId: bigint; slotIndex: number } & SlotProof,
  options: ChainCallOptions = {},
) {
  return sendTransaction(
    client,
    'repairSlot',
    {
      address: client.contracts.market,
      abi: marketAbi,
      functionName: 'repairSlot',
      args: [params.dealId, BigInt(params.slotIndex), ...proofArgs(params)],
    },
    options,
  )
}
