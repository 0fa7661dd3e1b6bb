import { type Address, type Hex, isAddressEqual, parseEventLogs, toHex } from 'viem'
import { ChainError, InvalidArgumentError } from '../errors.ts'
import { DEFAULT_MAX_PROOFS_PER_TRANSACTION } from './constants.ts'
import { revertDataToError, toCairnError } from './contract-errors.ts'
import { marketAbi } from './generated/index.ts'
import type {
  ChainCallOptions,
  ChainClient,
  ChainReader,
  Challenge,
  EpochInfo,
  ProofOutcome,
  SlotProof,
  SlotProofInput,
  SlotToProve,
} from './interface.ts'
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
 * The leaf a slot must prove in the current epoch; undefined when the epoch's seed is not drawn yet. The challenge is
 * bound to the prover's account: without `prover` it is the holder's; a repairer of an open slot passes its own
 * address (its `repairSlot` is checked against that leaf, so a copied transaction fails).
 *
 * @example
 * ```ts
 * const challenge = await getChallenge(reader, { dealId, slotIndex })
 * const mine = await getChallenge(reader, { dealId, slotIndex, prover: client.account.address })
 * ```
 */
export async function getChallenge(
  client: ChainReader,
  params: { dealId: bigint; slotIndex: number; prover?: Address },
  options: ChainCallOptions = {},
): Promise<Challenge | undefined> {
  const market = client.contracts.market
  try {
    const [epoch, leafIndex, leafLength, leafCount] =
      params.prover === undefined
        ? await client.readContract({
            address: market,
            abi: marketAbi,
            functionName: 'challenge',
            args: [params.dealId, BigInt(params.slotIndex)],
          })
        : await client.readContract({
            address: market,
            abi: marketAbi,
            functionName: 'challengeFor',
            args: [params.dealId, BigInt(params.slotIndex), params.prover],
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

/** Options of the batch actions: the caller's signal and the most proofs per transaction. */
export interface ProofBatchOptions extends ChainCallOptions {
  /** Proofs per transaction (default DEFAULT_MAX_PROOFS_PER_TRANSACTION, 32); more are sent in several. */
  maxPerTransaction?: number
}

/**
 * Submits many slot proofs in as few transactions as possible (Market.submitProofs, at most `maxPerTransaction`
 * each, sent one after the other) and returns one outcome per input, in input order. The Market checks each proof
 * exactly like `submitProof`; a proof it rejects (bad proof, already proven, not the holder...) is not paid and does
 * not stop the others: its outcome carries the decoded contract error (`details.errorName`). Proofs a dry run shows
 * the Market would reject are not sent at all (no gas spent on them); one rejected on chain anyway (the epoch turned
 * in between) has the batch's `transactionHash`. When a whole transaction fails (the chain is unreachable, out of
 * gas), every proof of it gets that error and no `transactionHash`. Throws only when cancelled.
 *
 * @example
 * ```ts
 * const outcomes = await submitProofs(client, [
 *   { dealId: 1n, slotIndex: 0, leaf, proof },
 *   { dealId: 2n, slotIndex: 3, leaf: otherLeaf, proof: otherProof },
 * ])
 * for (const o of outcomes) if (!o.accepted) console.error(o.error.message)
 * ```
 */
export async function submitProofs(
  client: ChainClient,
  proofs: readonly SlotProofInput[],
  options: ProofBatchOptions = {},
): Promise<ProofOutcome[]> {
  const size = options.maxPerTransaction ?? DEFAULT_MAX_PROOFS_PER_TRANSACTION
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new InvalidArgumentError(`maxPerTransaction must be a positive integer, got ${size}`)
  }
  const outcomes: ProofOutcome[] = []
  for (let start = 0; start < proofs.length; start += size) {
    outcomes.push(...(await submitProofChunk(client, proofs.slice(start, start + size), options)))
  }
  return outcomes
}

function proofInputArg(p: SlotProofInput) {
  return { dealId: p.dealId, slotIndex: BigInt(p.slotIndex), leaf: toHex(p.leaf), proof: p.proof.map((h) => toHex(h)) }
}

/**
 * One batch transaction. A dry run first (eth_call of submitProofs) finds the proofs the Market would reject now;
 * they are left out, so no gas is paid for them, and their reason is the revert of the same proof sent alone. The
 * rest is sent; should the chain change in between (the epoch turns), the Market still skips and reports per proof.
 */
async function submitProofChunk(
  client: ChainClient,
  chunk: readonly SlotProofInput[],
  options: ChainCallOptions,
): Promise<ProofOutcome[]> {
  const rejected = (p: SlotProofInput, error: Error, extra: { epoch?: number; transactionHash?: Hex } = {}) =>
    ({ dealId: p.dealId, slotIndex: p.slotIndex, accepted: false, error, ...extra }) satisfies ProofOutcome
  const market = client.contracts.market
  const outcomes: Array<ProofOutcome | undefined> = chunk.map(() => undefined)
  try {
    const { result } = await client.simulateContract({
      account: client.account,
      address: market,
      abi: marketAbi,
      functionName: 'submitProofs',
      args: [chunk.map(proofInputArg)],
    })
    await Promise.all(
      chunk.map(async (p, i) => {
        if (result[i] === true) return
        outcomes[i] = rejected(p, await aloneRejection(client, p, options))
      }),
    )
  } catch (error) {
    if (options.signal?.aborted === true) throw error
    return chunk.map((p) => rejected(p, toCairnError(error, 'submitProofs', options.signal)))
  }
  const send = chunk.filter((_, i) => outcomes[i] === undefined)
  if (send.length === 0) return outcomes as ProofOutcome[]
  let receipt: Awaited<ReturnType<typeof sendTransaction>>
  try {
    // A lone proof goes through submitProof: the same checks, about 1,300 gas less than a batch of one.
    const lone = send.length === 1 ? send[0] : undefined
    receipt =
      lone === undefined
        ? await sendTransaction(
            client,
            'submitProofs',
            { address: market, abi: marketAbi, functionName: 'submitProofs', args: [send.map(proofInputArg)] },
            options,
          )
        : await submitProof(client, lone, options)
  } catch (error) {
    if (options.signal?.aborted === true) throw error
    return chunk.map((p, i) => outcomes[i] ?? rejected(p, error as Error))
  }
  const transactionHash = receipt.transactionHash
  // Every proof sent emits exactly one ProofAccepted or ProofRejected, in input order (a lone proof that failed
  // reverted: caught above).
  const results = parseEventLogs({
    abi: marketAbi,
    logs: receipt.logs,
    eventName: ['ProofAccepted', 'ProofRejected'],
  }).filter((log) => isAddressEqual(log.address, market))
  let next = 0
  return chunk.map((p, i): ProofOutcome => {
    const known = outcomes[i]
    if (known !== undefined) return known
    const log = results[next++]
    if (log === undefined || results.length !== send.length) {
      const message = `submitProofs: transaction ${transactionHash} reported ${results.length} results for ${send.length} proofs`
      return rejected(p, new ChainError(message, { details: { hash: transactionHash } }), { transactionHash })
    }
    const epoch = Number(log.args.epoch)
    if (log.eventName === 'ProofAccepted') {
      return {
        dealId: p.dealId,
        slotIndex: p.slotIndex,
        accepted: true,
        epoch,
        payment: log.args.payment,
        transactionHash,
      }
    }
    const error = revertDataToError(log.args.reason, `submitProofs: slot ${p.slotIndex} of deal ${p.dealId}`)
    return rejected(p, error, { epoch, transactionHash })
  })
}

/** Why the Market rejects a proof: the revert of the same proof submitted alone (an eth_call, nothing sent). */
async function aloneRejection(client: ChainClient, p: SlotProofInput, options: ChainCallOptions): Promise<Error> {
  try {
    await client.simulateContract({
      account: client.account,
      address: client.contracts.market,
      abi: marketAbi,
      functionName: 'submitProof',
      args: [p.dealId, BigInt(p.slotIndex), ...proofArgs(p)],
    })
  } catch (error) {
    return toCairnError(error, `submitProofs: slot ${p.slotIndex} of deal ${p.dealId}`, options.signal)
  }
  return new ChainError(
    `submitProofs: slot ${p.slotIndex} of deal ${p.dealId} was rejected within the batch (is it in it twice?)`,
  )
}

/**
 * The proving round of many slots in one go: reads every slot's challenge (drawing the epoch's seed once if
 * needed), asks `prove` for each challenged leaf and its path (concurrently), and submits all the proofs that could
 * be built with `submitProofs` (one transaction per `maxPerTransaction`). Returns one outcome per slot in input order;
 * a slot whose challenge could not be read or whose proof could not be built gets that error, untouched on chain.
 *
 * @example
 * ```ts
 * const outcomes = await proveSlots(client, {
 *   slots: [{ dealId: 1n, slotIndex: 0 }, { dealId: 2n, slotIndex: 1 }],
 *   prove: async (slot, { leafIndex }) => prover.prove(keyOf(slot), leafIndex),
 * })
 * ```
 */
export async function proveSlots(
  client: ChainClient,
  params: {
    slots: readonly SlotToProve[]
    prove: (slot: SlotToProve, challenge: Challenge) => Promise<SlotProof>
  },
  options: ProofBatchOptions = {},
): Promise<ProofOutcome[]> {
  if (params.slots.length === 0) return []
  const read = (slot: SlotToProve) =>
    getChallenge(client, slot, options).catch((error: unknown) => {
      if (options.signal?.aborted === true) throw error
      return error as Error
    })
  const challenges = await Promise.all(params.slots.map(read))
  if (challenges.some((c) => c === undefined)) {
    await drawSeed(client, options).catch((error: unknown) => {
      if (options.signal?.aborted === true) throw error // else drawn meanwhile: read again below
    })
    await Promise.all(
      challenges.map(async (c, i) => {
        if (c === undefined) challenges[i] = await read(params.slots[i]!)
      }),
    )
  }
  const built = await Promise.all(
    params.slots.map(async (slot, i): Promise<SlotProofInput | ProofOutcome> => {
      const challenge = challenges[i]
      const failure = (error: Error, epoch?: number): ProofOutcome => ({
        dealId: slot.dealId,
        slotIndex: slot.slotIndex,
        accepted: false,
        error,
        ...(epoch === undefined ? {} : { epoch }),
      })
      if (challenge === undefined) return failure(new ChainError('proveSlots: the challenge seed was not drawn'))
      if (challenge instanceof Error) return failure(challenge)
      try {
        const proof = await params.prove(slot, challenge)
        return { dealId: slot.dealId, slotIndex: slot.slotIndex, leaf: proof.leaf, proof: proof.proof }
      } catch (error) {
        if (options.signal?.aborted === true) throw error
        return failure(error instanceof Error ? error : new Error(String(error)), challenge.epoch)
      }
    }),
  )
  const ready = built.filter((b): b is SlotProofInput => !('accepted' in b))
  const submitted = await submitProofs(client, ready, options)
  let next = 0
  return built.map((b) => ('accepted' in b ? b : submitted[next++]!))
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
