/**
 * Names that change, with history: an account's name points to a capability, and publishing again moves it. Each
 * record is sealed (names-record.ts) and anchored in the Names contract with a strictly increasing sequence number,
 * so no node or gateway is needed to resolve it, "latest" is what the chain says, and two writers racing on one
 * sequence get a conflict instead of a lost update. Design: docs/protocol.md, "Names".
 */
import type { Address, Hex } from 'viem'
import {
  type ChainClient,
  type ChainReader,
  getNameHead,
  isSequenceConflict,
  type NameRecord,
  nameIdOf,
  publishNameRecord,
  readNameRecords,
} from '../chain/index.ts'
import { ChainError, NotFoundError } from '../errors.ts'
import type { AbortOptions } from '../net/index.ts'
import { checkName, checkNameValue, openNameValue, sealNameValue } from './names-record.ts'

/** One record of a name, opened. */
export interface NameEntry {
  name: string
  owner: Address
  sequence: number
  capability: string
  blockNumber: string
  /** ISO time of the record's block. */
  time: string
  transactionHash?: string
}

/** What `publishName` wrote. */
export interface PublishedName {
  name: string
  owner: Address
  nameId: Hex
  sequence: number
  previousSequence: number
  blockNumber: string
  transactionHash?: string
}

function conflict(name: string, current: bigint, cause: unknown): ChainError {
  return new ChainError(
    `name ${name} was updated to sequence ${current} by another writer; resolve it and publish again`,
    { cause, details: { errorName: 'SequenceConflict', name, current: Number(current) } },
  )
}

/**
 * Points the wallet's name `name` to `capability`: record current + 1. With `expectSequence`, the name must be at
 * exactly that sequence (0: not published yet), as a compare-and-swap; a writer that got there first (another
 * process, another gateway of the same wallet) makes this a `ChainError` with `details.errorName ===
 * 'SequenceConflict'` and the message "name NAME was updated to sequence N by another writer; ...".
 *
 * @example
 * ```ts
 * const { sequence } = await publishName(client, { name: 'photos', capability: 'cairn:bafyrei...#q83v...' })
 * ```
 */
export async function publishName(
  client: ChainClient,
  params: { name: string; capability: string; expectSequence?: number },
  options: AbortOptions = {},
): Promise<PublishedName> {
  const name = checkName(params.name)
  const capability = checkNameValue(params.capability)
  const owner = client.account.address
  const nameId = nameIdOf(owner, name)
  const head = await getNameHead(client, { owner, nameId }, options)
  if (params.expectSequence !== undefined && head.sequence !== BigInt(params.expectSequence)) {
    throw conflict(name, head.sequence, undefined)
  }
  const sequence = head.sequence + 1n
  const value = sealNameValue({ owner, name, nameId, sequence }, capability)
  try {
    const published = await publishNameRecord(client, { nameId, sequence, value }, options)
    return {
      name,
      owner,
      nameId,
      sequence: Number(sequence),
      previousSequence: Number(head.sequence),
      blockNumber: published.blockNumber.toString(),
      ...(published.transactionHash === undefined ? {} : { transactionHash: published.transactionHash }),
    }
  } catch (error) {
    if (isSequenceConflict(error)) throw conflict(name, BigInt(error.details.current), error)
    throw error
  }
}

function opened(name: string, nameId: Hex, record: NameRecord): NameEntry {
  const capability = openNameValue({ owner: record.owner, name, nameId, sequence: record.sequence }, record.value)
  return {
    name,
    owner: record.owner,
    sequence: Number(record.sequence),
    capability,
    blockNumber: record.blockNumber.toString(),
    time: new Date(record.timestamp * 1000).toISOString(),
    transactionHash: record.transactionHash,
  }
}

async function records(
  reader: ChainReader,
  name: string,
  owner: Address,
  limit: number | undefined,
  options: AbortOptions,
): Promise<{ nameId: Hex; found: NameRecord[] }> {
  const nameId = nameIdOf(owner, name)
  try {
    const found = await readNameRecords(reader, { owner, nameId, ...(limit === undefined ? {} : { limit }) }, options)
    return { nameId, found }
  } catch (error) {
    if (error instanceof NotFoundError && error.details?.nameId === nameId) {
      throw new NotFoundError(
        `no name "${name}" of owner ${owner}: check the name and --owner (names are per owner; publish one with "cairn name publish NAME CAPABILITY")`,
        { cause: error },
      )
    }
    throw error
  }
}

/**
 * The capability `owner`'s name `name` points to now: its latest record, checked against the hash the Names contract
 * holds and opened with the key only the name and owner give. A name never published is a `NotFoundError`; a record
 * that does not authenticate is a `DecryptionError` ("forged record").
 *
 * @example
 * ```ts
 * const { capability, sequence } = await resolveName(reader, { name: 'photos', owner })
 * ```
 */
export async function resolveName(
  reader: ChainReader,
  params: { name: string; owner: Address },
  options: AbortOptions = {},
): Promise<NameEntry> {
  const name = checkName(params.name)
  const { nameId, found } = await records(reader, name, params.owner, 1, options)
  return opened(name, nameId, found[0]!)
}

/**
 * Every record of `owner`'s name `name`, oldest first (sequence 1 to the latest), each opened and checked.
 *
 * @example
 * ```ts
 * for (const entry of await nameHistory(reader, { name: 'photos', owner })) console.log(entry.sequence, entry.capability)
 * ```
 */
export async function nameHistory(
  reader: ChainReader,
  params: { name: string; owner: Address },
  options: AbortOptions = {},
): Promise<NameEntry[]> {
  const name = checkName(params.name)
  const { nameId, found } = await records(reader, name, params.owner, undefined, options)
  return found.map((record) => opened(name, nameId, record)).reverse()
}

/**
 * The sequence `owner`'s name is at (0: never published), without reading its records.
 *
 * @example
 * ```ts
 * const sequence = await nameSequence(reader, { name: 'photos', owner })
 * ```
 */
export async function nameSequence(
  reader: ChainReader,
  params: { name: string; owner: Address },
  options: AbortOptions = {},
): Promise<number> {
  const name = checkName(params.name)
  const head = await getNameHead(reader, { owner: params.owner, nameId: nameIdOf(params.owner, name) }, options)
  return Number(head.sequence)
}

/**
 * A read-modify-write of the wallet's name `name` that loses no concurrent update: `update` gets the current record
 * (undefined when the name was never published) and returns the capability to point to, or undefined to change
 * nothing; the publish expects the sequence `update` saw, and when another writer got there first, the name is read
 * again and `update` runs again on the newer record (at most `attempts` times, default 5; then the conflict is
 * thrown). The building block of state that several writers of one wallet share (e.g. the S3 catalog of several
 * gateways, docs/protocol.md "Names").
 *
 * @example
 * ```ts
 * await updateName(client, { name: 'inbox', update: async (current) => merge(current?.capability, mine) })
 * ```
 */
export async function updateName(
  client: ChainClient,
  params: {
    name: string
    update: (current: NameEntry | undefined) => Promise<string | undefined>
    attempts?: number
  },
  options: AbortOptions = {},
): Promise<PublishedName | undefined> {
  const name = checkName(params.name)
  const owner = client.account.address
  const attempts = params.attempts ?? 5
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted()
    const sequence = await nameSequence(client, { name, owner }, options)
    const current = sequence === 0 ? undefined : await resolveName(client, { name, owner }, options)
    const capability = await params.update(current)
    if (capability === undefined) return undefined
    try {
      return await publishName(client, { name, capability, expectSequence: current?.sequence ?? 0 }, options)
    } catch (error) {
      const conflicted = error instanceof ChainError && error.details?.errorName === 'SequenceConflict'
      if (!conflicted || attempt >= attempts) throw error
    }
  }
}
