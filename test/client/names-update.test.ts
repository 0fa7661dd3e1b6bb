/**
 * Names through the client layer on a real anvil: publish, resolve and history round-trip sealed capabilities; a
 * read-modify-write (`updateName`) of two writers of one wallet loses no update; a record under another owner
 * resolves to that owner's own value, or to nothing.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createChainClient, nameIdOf, namesAbi, namesContract } from '../../src/chain/index.ts'
import {
  type NameEntry,
  nameHistory,
  publishName,
  resolveName,
  sealNameValue,
  updateName,
} from '../../src/client/index.ts'
import { ChainError, DecryptionError, NotFoundError } from '../../src/errors.ts'
import { useTestChain } from '../chain/harness.ts'

const chain = useTestChain({ accounts: 4 })
const c = (i: number) => chain.clients[i]!
const owner = (i: number) => c(i).account.address
const MANIFEST = 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
/** A valid capability per small number (its key's first character varies). */
const capability = (n: number) =>
  `cairn:${MANIFEST}#${'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[n]}83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA`

describe('names through the client layer', () => {
  test('publish, resolve, history; another owner resolves to its own record or to nothing', async () => {
    await publishName(c(1), { name: 'site', capability: capability(1) })
    await publishName(c(1), { name: 'site', capability: capability(2) })
    const latest = await resolveName(c(3), { name: 'site', owner: owner(1) })
    assert.equal(latest.capability, capability(2))
    assert.equal(latest.sequence, 2)
    const history = await nameHistory(c(3), { name: 'site', owner: owner(1) })
    assert.deepEqual(
      history.map((e) => [e.sequence, e.capability]),
      [
        [1, capability(1)],
        [2, capability(2)],
      ],
    )
    await assert.rejects(resolveName(c(3), { name: 'site', owner: owner(2) }), NotFoundError)
    await publishName(c(2), { name: 'site', capability: capability(9) })
    assert.equal((await resolveName(c(3), { name: 'site', owner: owner(2) })).capability, capability(9))
    assert.equal((await resolveName(c(3), { name: 'site', owner: owner(1) })).capability, capability(2))
  })

  test('a record sealed for another sequence, published by its owner, is refused as forged', async () => {
    // The owner's own tool writes record 1 with a value sealed for sequence 2 (or copied from another record).
    const name = 'replayed'
    const nameId = nameIdOf(owner(1), name)
    const value = sealNameValue({ owner: owner(1), name, nameId, sequence: 2n }, capability(3))
    await c(1).writeContract({
      address: namesContract(c(1)),
      abi: namesAbi,
      functionName: 'publish',
      args: [nameId, 1n, `0x${Buffer.from(value).toString('hex')}`],
    })
    await assert.rejects(resolveName(c(3), { name, owner: owner(1) }), (error: unknown) => {
      assert.ok(error instanceof DecryptionError)
      assert.match(error.message, /record 1 of name "replayed" .* fails authentication: forged record/)
      return true
    })
  })

  test('updateName: two writers of one wallet each add their entry; neither update is lost', async () => {
    const twin = createChainClient({
      rpcUrl: chain.devchain.rpcUrl,
      chainId: chain.devchain.chainId,
      privateKey: chain.devchain.accounts[1]!,
      contracts: chain.devchain.contracts,
      pollingInterval: 10,
    })
    const seen: Record<string, Array<number | undefined>> = { left: [], right: [] }
    // Each writer "appends": it points the name to the capability numbered one past the current one.
    const writer = (client: typeof twin, label: string) =>
      updateName(client, {
        name: 'counter',
        update: async (current: NameEntry | undefined) => {
          seen[label]!.push(current?.sequence)
          return capability((current?.sequence ?? 0) + 1)
        },
      })
    const results = await Promise.all([writer(c(1), 'left'), writer(twin, 'right')])
    assert.deepEqual(results.map((r) => r?.sequence).sort(), [1, 2])
    const history = await nameHistory(c(3), { name: 'counter', owner: owner(1) })
    assert.deepEqual(
      history.map((e) => e.capability),
      [capability(1), capability(2)],
      'the second writer built on the first',
    )
    // Whoever lost the race saw the name again, at the winner's record.
    const retried = Object.values(seen).find((s) => s.length > 1)
    if (retried !== undefined) assert.deepEqual(retried, [undefined, 1])
    // No change: nothing published.
    assert.equal(await updateName(c(1), { name: 'counter', update: async () => undefined }), undefined)
    // Out of attempts: the conflict is thrown.
    let calls = 0
    const stubborn = updateName(c(1), {
      name: 'counter',
      attempts: 1,
      update: async (current) => {
        calls++
        // Someone else moves the name between this writer's read and its publish.
        await publishName(twin, { name: 'counter', capability: capability(7) })
        return capability((current?.sequence ?? 0) + 1)
      },
    })
    await assert.rejects(stubborn, (error: unknown) => {
      assert.ok(error instanceof ChainError)
      assert.match(
        error.message,
        /^name counter was updated to sequence 3 by another writer; resolve it and publish again$/,
      )
      return true
    })
    assert.equal(calls, 1)
  })
})
