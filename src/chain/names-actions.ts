/**
 * The Names contract (contracts/Names.sol) as plain functions: an account's mutable names, each a chain of records
 * with strictly increasing sequence numbers. The chain layer handles records as opaque bytes; what they hold (an
 * encrypted capability) is the client layer's business. Format and rules: docs/protocol.md, "Names".
 */
import {
  type Address,
  BaseError,
  decodeErrorResult,
  encodeAbiParameters,
  type Hex,
  keccak256,
  parseEventLogs,
  stringToBytes,
} from 'viem'
import { ChainError, InvalidArgumentError, NotFoundError } from '../errors.ts'
import { atBlock } from './chain-client.ts'
import { toCairnError } from './contract-errors.ts'
import { namesAbi } from './generated/index.ts'
import type { ChainCallOptions, ChainClient, ChainContracts, ChainReader } from './interface.ts'
import { sendTransaction } from './transaction.ts'

/** Largest record value the Names contract accepts, bytes (its MAX_VALUE_BYTES). */
export const MAX_NAME_VALUE_BYTES = 512

/** The latest record of a name as the contract keeps it. `sequence` 0: never published. */
export interface NameHead {
  sequence: bigint
  /** The block of the latest record's NamePublished event (0 when never published). */
  blockNumber: bigint
  /** keccak256 of the latest record's value. */
  valueHash: Hex
}

/** What `publishNameRecord` wrote. */
export interface PublishedNameRecord {
  sequence: bigint
  blockNumber: bigint
  /** The transaction (absent when its receipt was lost and the record was found on chain afterwards). */
  transactionHash?: Hex
}

/**
 * The address of the network's Names contract; a network deployed before names existed is a `NotFoundError` naming
 * the fix.
 *
 * @example
 * ```ts
 * const names = namesContract(client) // 0x... (from network.json's contracts.names)
 * ```
 */
export function namesContract(client: { contracts: ChainContracts }): Address {
  const address = client.contracts.names
  if (address === undefined) {
    throw new NotFoundError(
      'this network has no Names contract; redeploy or upgrade the network file (a network deployed by this cairn, or a devnet started fresh, has one)',
    )
  }
  return address
}

/**
 * The on-chain ID of `owner`'s name `name`: keccak256(abi.encode(owner, keccak256(utf8(name)))), as the contract's
 * `nameIdOf` computes it. The chain sees only this ID, never the name.
 *
 * @example
 * ```ts
 * const nameId = nameIdOf('0x70997970C51812dc3A010C7d01b50e0d17dc79C8', 'photos')
 * ```
 */
export function nameIdOf(owner: Address, name: string): Hex {
  return keccak256(
    encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [owner, keccak256(stringToBytes(name))]),
  )
}

/** The decoded Names error of a failed call, if it is one. */
function namesRevert(error: unknown): { errorName: string; args: readonly unknown[] } | undefined {
  if (!(error instanceof BaseError)) return undefined
  let found: { errorName: string; args: readonly unknown[] } | undefined
  error.walk((e) => {
    for (const candidate of [(e as { data?: unknown }).data, (e as { data?: { data?: unknown } }).data?.data]) {
      if (typeof candidate !== 'string' || !candidate.startsWith('0x') || candidate.length < 10) continue
      try {
        const decoded = decodeErrorResult({ abi: namesAbi, data: candidate as Hex })
        found = { errorName: decoded.errorName, args: decoded.args ?? [] }
        return true
      } catch {}
    }
    return false
  })
  return found
}

/**
 * Thrown when a publish names a sequence other than current + 1: another writer (or an earlier run) got there first.
 * `details.current` is the sequence the name is at.
 */
export function sequenceConflict(nameId: Hex, sequence: bigint, current: bigint, cause?: unknown): ChainError {
  return new ChainError(
    `publishName: record ${sequence} of name ${nameId} conflicts with the name's current sequence ${current}: only ${current + 1n} is accepted`,
    {
      cause,
      details: {
        errorName: 'SequenceConflict',
        nameId,
        sequence: sequence.toString(),
        current: current.toString(),
      },
    },
  )
}

/** True when `error` is the conflict of `sequenceConflict` (a racing writer won that sequence). */
export function isSequenceConflict(error: unknown): error is ChainError & { details: { current: string } } {
  return error instanceof ChainError && error.details?.errorName === 'SequenceConflict'
}

/**
 * The latest record of `owner`'s name `nameId` as the contract keeps it (sequence 0: never published).
 *
 * @example
 * ```ts
 * const head = await getNameHead(reader, { owner, nameId: nameIdOf(owner, 'photos') })
 * ```
 */
export async function getNameHead(
  client: ChainReader,
  params: { owner: Address; nameId: Hex },
  options: ChainCallOptions = {},
): Promise<NameHead> {
  const address = namesContract(client)
  try {
    const [sequence, blockNumber, valueHash] = await client.readContract({
      address,
      abi: namesAbi,
      functionName: 'latest',
      args: [params.owner, params.nameId],
      ...atBlock(options),
    })
    return { sequence: BigInt(sequence), blockNumber: BigInt(blockNumber), valueHash }
  } catch (error) {
    throw toCairnError(error, 'getNameHead', options.signal)
  }
}

/**
 * Publishes record `sequence` (current + 1) of the caller's name `nameId` with `value` (1 to MAX_NAME_VALUE_BYTES
 * bytes). A sequence already taken is a `ChainError` with `details.errorName === 'SequenceConflict'` and
 * `details.current` (see `isSequenceConflict`), whether the contract refused it before broadcast, the transaction
 * reverted after a racing writer's was mined first, or a racing writer of the same account used the nonce: the head
 * is read again after any failure, and a head at or past `sequence` that is not this very record is a conflict.
 *
 * @example
 * ```ts
 * const head = await getNameHead(client, { owner: client.account.address, nameId })
 * await publishNameRecord(client, { nameId, sequence: head.sequence + 1n, value: sealed })
 * ```
 */
export async function publishNameRecord(
  client: ChainClient,
  params: { nameId: Hex; sequence: bigint; value: Uint8Array },
  options: ChainCallOptions = {},
): Promise<PublishedNameRecord> {
  const { nameId, sequence, value } = params
  if (value.byteLength === 0 || value.byteLength > MAX_NAME_VALUE_BYTES) {
    throw new InvalidArgumentError(
      `a name's record value must have 1 to ${MAX_NAME_VALUE_BYTES} bytes, got ${value.byteLength}: publish a capability, not a file`,
    )
  }
  if (sequence < 1n || sequence >= 2n ** 64n) {
    throw new InvalidArgumentError(`a record's sequence must be 1 to 2^64-1, got ${sequence}`)
  }
  const address = namesContract(client)
  const valueHex = `0x${Buffer.from(value).toString('hex')}` as Hex
  let receipt: Awaited<ReturnType<typeof sendTransaction>>
  try {
    receipt = await sendTransaction(
      client,
      'publishName',
      { address, abi: namesAbi, functionName: 'publish', args: [nameId, sequence, valueHex] },
      options,
    )
  } catch (error) {
    const decoded = namesRevert((error as { cause?: unknown }).cause ?? error) ?? namesRevert(error)
    if (decoded?.errorName === 'SequenceConflict') {
      throw sequenceConflict(nameId, sequence, BigInt(decoded.args[3] as bigint), error)
    }
    if (decoded?.errorName === 'InvalidValueSize') {
      throw new InvalidArgumentError(
        `publishName: the record value has ${decoded.args[0]} bytes, the Names contract takes 1 to ${decoded.args[1]}`,
        { cause: error },
      )
    }
    if (options.signal?.aborted === true) throw error
    // Reverted after broadcast, or a nonce taken by a racing sender: the head says whether someone else won.
    const head = await getNameHead(client, { owner: client.account.address, nameId }, options).catch(() => undefined)
    if (head !== undefined && head.sequence >= sequence) {
      // Our own record after all (mined, then the wait for its receipt failed).
      if (head.sequence === sequence && head.valueHash === keccak256(valueHex)) {
        return { sequence, blockNumber: head.blockNumber }
      }
      throw sequenceConflict(nameId, sequence, head.sequence, error)
    }
    throw error
  }
  const [event] = parseEventLogs({ abi: namesAbi, eventName: 'NamePublished', logs: receipt.logs })
  if (event === undefined) throw new ChainError('publishName: the receipt has no NamePublished event')
  return { sequence, blockNumber: receipt.blockNumber, transactionHash: receipt.transactionHash }
}
