/**
 * The Names contract on a real anvil: the sequence must be current + 1 (a compare-and-swap), a conflict is a clear
 * error and never a lost update, an account writes only its own names, values are capped, and the history walk reads
 * every record back, several in one block included.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type BaseError, decodeErrorResult, type Hex, keccak256, toHex } from 'viem'
import {
  type ChainClient,
  createChainClient,
  getNameHead,
  isSequenceConflict,
  MAX_NAME_VALUE_BYTES,
  nameIdOf,
  namesAbi,
  namesContract,
  publishNameRecord,
  readNameRecords,
} from '../../src/chain/index.ts'
import { ChainError, CorruptDataError, InvalidArgumentError, NotFoundError } from '../../src/errors.ts'
import { useTestChain } from './harness.ts'

const chain = useTestChain({ accounts: 4 })
const c = (i: number) => chain.clients[i]!
const owner = (i: number) => c(i).account.address
const bytes = (text: string) => new TextEncoder().encode(text)

/** The contract's own custom error for a call made without the client-side checks. */
async function contractError(client: ChainClient, args: readonly [Hex, bigint, Hex]): Promise<string> {
  try {
    await client.simulateContract({ address: namesContract(client), abi: namesAbi, functionName: 'publish', args })
  } catch (error) {
    let data: Hex | undefined
    ;(error as BaseError).walk((e) => {
      const d = (e as { data?: unknown }).data
      if (typeof d === 'string' && d.startsWith('0x')) data = d as Hex
      return data !== undefined
    })
    assert.ok(data !== undefined, `no revert data in ${(error as Error).message}`)
    return decodeErrorResult({ abi: namesAbi, data }).errorName
  }
  assert.fail('the publish was accepted')
}

describe('Names contract', () => {
  test('records must go 1, 2, 3: a repeated or skipped sequence is a SequenceConflict naming the current one', async () => {
    const nameId = nameIdOf(owner(1), 'photos')
    assert.equal((await getNameHead(c(1), { owner: owner(1), nameId })).sequence, 0n)
    await publishNameRecord(c(1), { nameId, sequence: 1n, value: bytes('one') })
    const second = await publishNameRecord(c(1), { nameId, sequence: 2n, value: bytes('two') })
    const head = await getNameHead(c(1), { owner: owner(1), nameId })
    assert.deepEqual(head, { sequence: 2n, blockNumber: second.blockNumber, valueHash: keccak256(bytes('two')) })
    for (const sequence of [1n, 2n, 4n]) {
      const error = await publishNameRecord(c(1), { nameId, sequence, value: bytes('late') }).catch((e: unknown) => e)
      assert.ok(isSequenceConflict(error), `sequence ${sequence}: ${(error as Error).message}`)
      assert.equal(error.details.current, '2')
      assert.match(error.message, /conflicts with the name's current sequence 2: only 3 is accepted/)
    }
    assert.equal(await contractError(c(1), [nameId, 2n, toHex(bytes('stale'))]), 'SequenceConflict')
    assert.equal((await getNameHead(c(1), { owner: owner(1), nameId })).valueHash, keccak256(bytes('two')))
  })

  test("another account cannot write an owner's name: the same ID is its own, separate name", async () => {
    const nameId = nameIdOf(owner(1), 'photos')
    await publishNameRecord(c(1), { nameId, sequence: 1n, value: bytes('mine') })
    // The intruder sends the owner's name ID with the next sequence: it lands in the intruder's namespace, at 0.
    const error = await publishNameRecord(c(2), { nameId, sequence: 2n, value: bytes('hijack') }).catch((e) => e)
    assert.ok(isSequenceConflict(error))
    assert.equal(error.details.current, '0')
    await publishNameRecord(c(2), { nameId, sequence: 1n, value: bytes('theirs') })
    const [ownerRecord] = await readNameRecords(c(3), { owner: owner(1), nameId })
    assert.equal(Buffer.from(ownerRecord!.value).toString(), 'mine')
    const [intruderRecord] = await readNameRecords(c(3), { owner: owner(2), nameId })
    assert.equal(Buffer.from(intruderRecord!.value).toString(), 'theirs')
    // Two owners' IDs of one name differ, and the contract derives them as the client does.
    assert.notEqual(nameIdOf(owner(1), 'photos'), nameIdOf(owner(2), 'photos'))
    const onChain = await c(3).readContract({
      address: namesContract(c(3)),
      abi: namesAbi,
      functionName: 'nameIdOf',
      args: [owner(1), 'photos/2026 é'],
    })
    assert.equal(onChain, nameIdOf(owner(1), 'photos/2026 é'))
  })

  test('values are 1 to 512 bytes: the contract refuses others, and so does the client before any gas', async () => {
    const nameId = nameIdOf(owner(1), 'big')
    const tooBig = new Uint8Array(MAX_NAME_VALUE_BYTES + 1)
    assert.equal(await contractError(c(1), [nameId, 1n, toHex(tooBig)]), 'InvalidValueSize')
    assert.equal(await contractError(c(1), [nameId, 1n, '0x']), 'InvalidValueSize')
    await assert.rejects(publishNameRecord(c(1), { nameId, sequence: 1n, value: tooBig }), InvalidArgumentError)
    await publishNameRecord(c(1), { nameId, sequence: 1n, value: new Uint8Array(MAX_NAME_VALUE_BYTES).fill(7) })
    assert.equal((await getNameHead(c(1), { owner: owner(1), nameId })).sequence, 1n)
  })

  test('the history walk reads every record back, newest first, several in one block included', async () => {
    const nameId = nameIdOf(owner(1), 'log')
    await publishNameRecord(c(1), { nameId, sequence: 1n, value: bytes('v1') })
    // Records 2 and 3 in one block.
    await chain.test.setAutomine(false)
    try {
      const address = namesContract(c(1))
      const nonce = await c(1).getTransactionCount({ address: owner(1), blockTag: 'pending' })
      for (const [i, sequence] of [2n, 3n].entries()) {
        await c(1).writeContract({
          address,
          abi: namesAbi,
          functionName: 'publish',
          args: [nameId, sequence, toHex(bytes(`v${sequence}`))],
          nonce: nonce + i,
          gas: 200_000n,
        })
      }
      await chain.test.mine({ blocks: 1 })
    } finally {
      await chain.test.setAutomine(true)
    }
    await publishNameRecord(c(1), { nameId, sequence: 4n, value: bytes('v4') })
    const records = await readNameRecords(c(2), { owner: owner(1), nameId })
    assert.deepEqual(
      records.map((r) => [r.sequence, Buffer.from(r.value).toString()]),
      [
        [4n, 'v4'],
        [3n, 'v3'],
        [2n, 'v2'],
        [1n, 'v1'],
      ],
    )
    assert.equal(records[1]!.blockNumber, records[2]!.blockNumber)
    assert.equal(records[0]!.previousBlock, records[1]!.blockNumber)
    assert.equal(records[3]!.previousBlock, 0n)
    assert.ok(records.every((r) => r.timestamp > 0 && r.transactionHash.startsWith('0x')))
    assert.equal((await readNameRecords(c(2), { owner: owner(1), nameId, limit: 2 })).length, 2)
    await assert.rejects(readNameRecords(c(2), { owner: owner(2), nameId }), NotFoundError)
  })

  test('an endpoint that alters the latest value is caught by the hash the contract holds', async () => {
    const nameId = nameIdOf(owner(1), 'tampered')
    await publishNameRecord(c(1), { nameId, sequence: 1n, value: bytes('real') })
    const head = await getNameHead(c(1), { owner: owner(1), nameId })
    const lying = { ...head, valueHash: keccak256(bytes('something else')) }
    await assert.rejects(readNameRecords(c(1), { owner: owner(1), nameId, head: lying }), (error: unknown) => {
      assert.ok(error instanceof CorruptDataError)
      assert.match(error.message, /forged record/)
      return true
    })
  })

  test('two writers of one account racing on the same next sequence: exactly one wins, the other conflicts', async () => {
    const nameId = nameIdOf(owner(1), 'race')
    // Two clients of one key (two processes, two gateways): separate queues, so nothing orders them but the chain.
    const twin = createChainClient({
      rpcUrl: chain.devchain.rpcUrl,
      chainId: chain.devchain.chainId,
      privateKey: chain.devchain.accounts[1]!,
      contracts: chain.devchain.contracts,
      pollingInterval: 10,
    })
    const outcomes = await Promise.allSettled([
      publishNameRecord(c(1), { nameId, sequence: 1n, value: bytes('left') }),
      publishNameRecord(twin, { nameId, sequence: 1n, value: bytes('right') }),
    ])
    const won = outcomes.filter((o) => o.status === 'fulfilled')
    const lost = outcomes.filter((o) => o.status === 'rejected')
    assert.equal(won.length, 1, JSON.stringify(outcomes.map((o) => o.status)))
    assert.equal(lost.length, 1)
    const reason = (lost[0] as PromiseRejectedResult).reason as unknown
    assert.ok(isSequenceConflict(reason), `the loser got: ${(reason as Error).message}`)
    assert.ok(reason instanceof ChainError)
    const [record] = await readNameRecords(c(2), { owner: owner(1), nameId })
    assert.equal(record!.sequence, 1n)
    assert.ok(['left', 'right'].includes(Buffer.from(record!.value).toString()))
  })

  test('a network without the Names contract names the fix', async () => {
    const { names: _names, ...older } = chain.devchain.contracts as typeof chain.devchain.contracts & { names?: Hex }
    const old = createChainClient({
      rpcUrl: chain.devchain.rpcUrl,
      chainId: chain.devchain.chainId,
      privateKey: chain.devchain.accounts[1]!,
      contracts: older,
    })
    await assert.rejects(getNameHead(old, { owner: owner(1), nameId: nameIdOf(owner(1), 'x') }), {
      message: /this network has no Names contract; redeploy or upgrade the network file/,
    })
  })
})
