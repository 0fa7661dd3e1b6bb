/**
 * Reading a name's records back from the Names contract's NamePublished events. The contract keeps the latest
 * record's block and every event names the block of the record before it, so a reader fetches the logs of one block
 * per record (a range every public endpoint serves) and never scans the chain from the deployment block.
 */
import { type Address, type Hex, keccak256, type Log } from 'viem'
import { CorruptDataError, NotFoundError } from '../errors.ts'
import { toCairnError } from './contract-errors.ts'
import { namesAbi } from './generated/index.ts'
import type { ChainCallOptions, ChainReader } from './interface.ts'
import { getNameHead, type NameHead, namesContract } from './names-actions.ts'

/** One record of a name, as its NamePublished event holds it. */
export interface NameRecord {
  owner: Address
  nameId: Hex
  sequence: bigint
  /** The record's bytes (for Cairn's client: nonce, ciphertext and tag of the sealed capability). */
  value: Uint8Array
  /** The block of the record before this one (0 for the first). */
  previousBlock: bigint
  blockNumber: bigint
  /** Unix seconds of the record's block. */
  timestamp: number
  transactionHash: Hex
}

type NamePublishedLog = Log & {
  args: { owner: Address; nameId: Hex; sequence: bigint; value: Hex; previousBlock: bigint }
}

/** The NamePublished events of one name in one block. */
async function recordsInBlock(
  client: ChainReader,
  params: { owner: Address; nameId: Hex; blockNumber: bigint },
  options: ChainCallOptions,
): Promise<NameRecord[]> {
  let logs: NamePublishedLog[]
  let timestamp: number
  try {
    logs = (await client.getContractEvents({
      address: namesContract(client),
      abi: namesAbi,
      eventName: 'NamePublished',
      args: { owner: params.owner, nameId: params.nameId },
      fromBlock: params.blockNumber,
      toBlock: params.blockNumber,
    })) as unknown as NamePublishedLog[]
    timestamp = Number((await client.getBlock({ blockNumber: params.blockNumber })).timestamp)
  } catch (error) {
    throw toCairnError(error, 'readNameHistory', options.signal)
  }
  return logs
    .filter((log) => log.args.owner.toLowerCase() === params.owner.toLowerCase() && log.args.nameId === params.nameId)
    .map((log) => ({
      owner: params.owner,
      nameId: params.nameId,
      sequence: BigInt(log.args.sequence),
      value: Buffer.from(log.args.value.slice(2), 'hex'),
      previousBlock: BigInt(log.args.previousBlock),
      blockNumber: params.blockNumber,
      timestamp,
      transactionHash: log.transactionHash ?? '0x',
    }))
}

/**
 * The records of `owner`'s name `nameId`, newest first: the latest (checked against the hash the contract keeps)
 * and, walking the `previousBlock` links back, the ones before it, at most `limit` (default all). A name never
 * published is a `NotFoundError`; an endpoint that leaves out a record, or returns a latest value whose hash the
 * contract does not hold, is a `CorruptDataError`.
 *
 * @example
 * ```ts
 * const [latest, ...older] = await readNameRecords(reader, { owner, nameId: nameIdOf(owner, 'photos') })
 * ```
 */
export async function readNameRecords(
  client: ChainReader,
  params: { owner: Address; nameId: Hex; limit?: number; head?: NameHead },
  options: ChainCallOptions = {},
): Promise<NameRecord[]> {
  const head = params.head ?? (await getNameHead(client, params, options))
  if (head.sequence === 0n) {
    throw new NotFoundError(`no record of name ${params.nameId} for owner ${params.owner}`, {
      details: { nameId: params.nameId, owner: params.owner },
    })
  }
  const limit = params.limit ?? Number.POSITIVE_INFINITY
  const records: NameRecord[] = []
  const blocks = new Map<bigint, NameRecord[]>()
  let sequence = head.sequence
  let blockNumber = head.blockNumber
  while (sequence > 0n && records.length < limit) {
    options.signal?.throwIfAborted()
    let inBlock = blocks.get(blockNumber)
    if (inBlock === undefined) {
      inBlock = await recordsInBlock(client, { owner: params.owner, nameId: params.nameId, blockNumber }, options)
      blocks.set(blockNumber, inBlock)
    }
    const record = inBlock.find((r) => r.sequence === sequence)
    if (record === undefined) {
      throw new CorruptDataError(
        `the chain endpoint returned no record ${sequence} of name ${params.nameId} in block ${blockNumber}, where the Names contract says it is: use an endpoint that serves complete logs (an archive or full node)`,
      )
    }
    if (sequence === head.sequence && keccak256(record.value) !== head.valueHash) {
      throw new CorruptDataError(
        `the latest record of name ${params.nameId} does not match the hash the Names contract holds: forged record (the chain endpoint altered it)`,
      )
    }
    if (record.previousBlock > blockNumber || (sequence > 1n && record.previousBlock === 0n)) {
      throw new CorruptDataError(
        `record ${sequence} of name ${params.nameId} links to block ${record.previousBlock}: forged record`,
      )
    }
    records.push(record)
    sequence -= 1n
    blockNumber = record.previousBlock
  }
  return records
}
