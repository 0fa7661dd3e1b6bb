import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type Address, encodeFunctionData, type Hex, stringToHex } from 'viem'
import {
  hookTokenAbi,
  hookTokenBytecode,
  marketBytecode,
  reentrantReceiverAbi,
  reentrantReceiverBytecode,
  registryBytecode,
} from '../../src/chain/generated/index.ts'
import {
  approve,
  type ChainClient,
  closeDeal,
  createChainClient,
  createDeal,
  encodeSlotAcceptance,
  endDeal,
  getBalances,
  getDeal,
  getNode,
  getSlot,
  marketAbi,
  registryAbi,
  reportMissed,
  submitProof,
  withdrawEarnings,
} from '../../src/chain/index.ts'
import { sendTransaction } from '../../src/chain/transaction.ts'
import {
  CAIRN,
  challengeOf,
  type HeldSlot,
  holdSlot,
  MIN_STAKE,
  openDeal,
  PRICE,
  proveHeld,
  registerNodes,
  rejectsWith,
  slotData,
  slotProof,
  tokenBalance,
  useTestChain,
} from './harness.ts'

/** For a contract node that accepts every signature (ERC-1271): any nonce, no expiry in sight, empty signature. */
const ANY_ACCEPTANCE = { nonce: 1n, expiry: 2 ** 40, signature: '0x' as Hex }

const chain = useTestChain({ setup: (c) => registerNodes(c.clients.slice(2, 6)) })
const big = holdSlot(slotData(1024 * 1024, 7)) // 1024 leaves: a replayed proof hits the same leaf 1 time in 1024

const user = () => chain.clients[1]!
const node = (i: number) => chain.clients[2 + i]!

/** Moves to later epochs until the slot's challenge differs from `leafIndex` (1 in 1024 it does not). */
async function epochWithOtherLeaf(holder: ChainClient, dealId: bigint, slotIndex: number, leafIndex: number) {
  for (;;) {
    await chain.nextEpoch()
    const challenge = await challengeOf(holder, dealId, slotIndex)
    if (challenge.leafIndex !== leafIndex) return challenge
    await reportMissed(user(), { dealId, slotIndex }).catch(() => {})
  }
}

describe('replay', () => {
  test('a proof accepted in one epoch is rejected in the next', async () => {
    const dealId = await openDeal(user(), [node(0)], [big])
    await chain.nextEpoch()
    const first = await challengeOf(node(0), dealId, 0)
    const proof = slotProof(big, first.leafIndex)
    await submitProof(node(0), { dealId, slotIndex: 0, ...proof })
    await epochWithOtherLeaf(node(0), dealId, 0, first.leafIndex)
    await rejectsWith(submitProof(node(0), { dealId, slotIndex: 0, ...proof }), 'InvalidProof')
  })

  test("a replica's proof is rejected for another slot with the same root, and for another deal", async () => {
    const dealId = await openDeal(user(), [node(0), node(1)], [big, big])
    const otherDeal = await openDeal(user(), [node(1)], [big])
    await chain.nextEpoch()
    const c0 = await challengeOf(node(0), dealId, 0)
    const c1 = await challengeOf(node(1), dealId, 1)
    const c2 = await challengeOf(node(1), otherDeal, 0)
    const proof0 = slotProof(big, c0.leafIndex)
    await submitProof(node(0), { dealId, slotIndex: 0, ...proof0 })
    // node(1) did not keep the data and copies node(0)'s proof from the transaction.
    if (c1.leafIndex !== c0.leafIndex) {
      await rejectsWith(submitProof(node(1), { dealId, slotIndex: 1, ...proof0 }), 'InvalidProof')
    }
    if (c2.leafIndex !== c0.leafIndex) {
      await rejectsWith(submitProof(node(1), { dealId: otherDeal, slotIndex: 0, ...proof0 }), 'InvalidProof')
    }
    assert.ok(c1.leafIndex !== c0.leafIndex || c2.leafIndex !== c0.leafIndex)
    assert.equal((await getBalances(node(1))).earnings, 0n)
  })

  test('a proof made for one chain ID is rejected on another', async () => {
    const dealId = await openDeal(user(), [node(0)], [big])
    await chain.nextEpoch()
    const here = await challengeOf(node(0), dealId, 0)
    const proof = slotProof(big, here.leafIndex)
    await chain.test.request({ method: 'anvil_setChainId' as 'anvil_mine', params: [4242] as never })
    try {
      const elsewhere = createChainClient({
        rpcUrl: chain.devchain.rpcUrl,
        chainId: 4242,
        privateKey: chain.devchain.accounts[2]!,
        contracts: chain.devchain.contracts,
        pollingInterval: 10,
      })
      const there = await challengeOf(elsewhere, dealId, 0)
      assert.notEqual(there.leafIndex, here.leafIndex, 'the challenge depends on the chain ID')
      await rejectsWith(submitProof(elsewhere, { dealId, slotIndex: 0, ...proof }), 'InvalidProof')
    } finally {
      await chain.test.request({ method: 'anvil_setChainId' as 'anvil_mine', params: [31337] as never })
    }
  })
})

describe('cheating provers', () => {
  test('a node that kept only the root cannot answer challenges and is slashed until the slot opens', async () => {
    const dealId = await openDeal(user(), [node(0)], [big])
    // The node threw the data away; it kept the root, one leaf and that leaf's path.
    const kept = slotProof(big, 0)
    const keptIndex = 0
    const state = async () => (await getSlot(user(), { dealId, slotIndex: 0 })).state
    // Every epoch until the slot opens (3 misses; a challenge of the kept leaf itself is skipped as a miss too).
    let rounds = 0
    while ((await state()) !== 'open') {
      assert.ok(rounds < 10, 'the slot never opened')
      const challenge = await epochWithOtherLeaf(node(0), dealId, 0, keptIndex)
      await reportMissed(user(), { dealId, slotIndex: 0 }).catch(() => {}) // the epochs before this one
      if ((await state()) === 'open') break
      const forged = { leaf: new Uint8Array(challenge.leafLength).fill(0xab), proof: kept.proof }
      await rejectsWith(submitProof(node(0), { dealId, slotIndex: 0, ...forged }), 'InvalidProof')
      await rejectsWith(submitProof(node(0), { dealId, slotIndex: 0, ...kept }), 'InvalidProof')
      rounds++
    }
    assert.ok(rounds >= 1, `no challenge was answered before the slot opened (${rounds} rounds)`)
    assert.equal((await getNode(user(), { account: node(0).account.address })).stake, MIN_STAKE - 150n * CAIRN)
    assert.equal((await getBalances(node(0))).earnings, 0n)
  })

  test('the user cannot take back escrow a node already earned', async () => {
    const slotA = holdSlot(slotData(4096, 1))
    const slotB = holdSlot(slotData(2048, 2))
    const before = await tokenBalance(user(), user().account.address)
    const dealId = await openDeal(user(), [node(0), node(1)], [slotA, slotB], { durationEpochs: 5 })
    const deposit = (await getDeal(user(), { dealId })).escrow
    await chain.nextEpoch()
    await proveHeld(node(0), dealId, 0, slotA)
    await endDeal(user(), { dealId })
    await rejectsWith(closeDeal(user(), { dealId }), 'DealNotEnded')
    await rejectsWith(withdrawEarnings(user()), 'NothingToWithdraw')
    await proveHeld(node(1), dealId, 1, slotB)
    await chain.nextEpoch()
    await closeDeal(user(), { dealId })
    const earned = (await getBalances(node(0))).earnings + (await getBalances(node(1))).earnings
    assert.equal(earned, (slotA.size + slotB.size) * PRICE)
    // The user paid what the nodes earned plus the protocol fee (10%, burned) of those two proofs, nothing more.
    const fee = (payment: bigint) => (payment * 1_000n + 9_999n) / 10_000n
    const burned = fee(slotA.size * PRICE) + fee(slotB.size * PRICE)
    assert.equal(await tokenBalance(user(), user().account.address), before - earned - burned)
    assert.ok(deposit > earned, 'the deposit covered more epochs than were earned')
    await rejectsWith(closeDeal(user(), { dealId }), 'DealAlreadyClosed')
  })
})

describe('re-entrancy', () => {
  async function deployHooked(): Promise<{ client: ChainClient; token: Address; registry: Address; market: Address }> {
    const deployer = chain.clients[0]!
    const deploy = async (request: Parameters<ChainClient['deployContract']>[0]) => {
      const hash = await deployer.deployContract(request)
      return (await deployer.waitForTransactionReceipt({ hash })).contractAddress!
    }
    const token = await deploy({ abi: hookTokenAbi, bytecode: hookTokenBytecode, args: [] } as never)
    const registry = await deploy({
      abi: registryAbi,
      bytecode: registryBytecode,
      args: [token, MIN_STAKE, 0n],
    } as never)
    const market = await deploy({
      abi: marketAbi,
      bytecode: marketBytecode,
      args: [
        token,
        registry,
        {
          epochSeconds: 100n,
          genesis: 0n,
          maxMisses: 3,
          slashPerMiss: 50n * CAIRN,
          initialEmission: 100n * CAIRN,
          halvingEpochs: 1000n,
          protocolFeeBps: 1000,
          rewardShareBps: 5000,
          minPaymentPerSlotEpoch: 1n,
          maxSlotsPerNode: 100,
          responseWindowBlocks: 60,
          confirmationFee: 0n,
        },
      ],
    } as never)
    await sendTransaction(deployer, 'setMarket', {
      address: registry,
      abi: registryAbi,
      functionName: 'setMarket',
      args: [market],
    })
    const client = createChainClient({
      rpcUrl: chain.devchain.rpcUrl,
      chainId: chain.devchain.chainId,
      privateKey: chain.devchain.accounts[1]!,
      contracts: { token, registry, market },
      pollingInterval: 10,
    })
    return { client, token, registry, market }
  }

  test('a token that calls back cannot re-enter withdraw or endDeal, and payouts stay exact', async () => {
    const { client: payer, token, registry, market } = await deployHooked()
    const deployer = chain.clients[0]!
    const hash = await deployer.deployContract({ abi: reentrantReceiverAbi, bytecode: reentrantReceiverBytecode })
    const attacker = (await deployer.waitForTransactionReceipt({ hash })).contractAddress!
    const call = (to: Address, data: Hex) =>
      sendTransaction(deployer, 'execute', {
        address: attacker,
        abi: reentrantReceiverAbi,
        functionName: 'execute',
        args: [to, data],
      })
    const arm = (data: Hex) =>
      sendTransaction(deployer, 'arm', {
        address: attacker,
        abi: reentrantReceiverAbi,
        functionName: 'arm',
        args: [market, data],
      })
    const mint = (to: Address, amount: bigint) =>
      sendTransaction(deployer, 'mint', { address: token, abi: hookTokenAbi, functionName: 'mint', args: [to, amount] })
    await mint(attacker, 10_000n * CAIRN)
    await mint(payer.account.address, 10_000n * CAIRN)
    await sendTransaction(deployer, 'setHooked', {
      address: token,
      abi: hookTokenAbi,
      functionName: 'setHooked',
      args: [attacker, true],
    })

    // The attacker contract registers as a node, takes a slot and proves it honestly.
    await call(token, encodeFunctionData({ abi: hookTokenAbi, functionName: 'approve', args: [registry, MIN_STAKE] }))
    await call(
      registry,
      encodeFunctionData({
        abi: registryAbi,
        functionName: 'register',
        args: [stringToHex('attacker'), [], 10n ** 9n, PRICE, MIN_STAKE],
      }),
    )
    const slot: HeldSlot = holdSlot(slotData(3000, 9))
    await approve(payer, { spender: 'market', amount: 10n ** 24n })
    const { dealId } = await createDeal(payer, {
      manifestCid: 'bafy',
      size: 3000n,
      k: 1,
      // The attacker contract is an ERC-1271 account that accepts every slot (any signature).
      slots: [{ root: slot.root, size: slot.size, node: attacker, acceptance: ANY_ACCEPTANCE }],
      durationEpochs: 4,
      maxPricePerByteEpoch: PRICE,
      payment: 'allowance',
    })
    await call(market, encodeFunctionData({ abi: marketAbi, functionName: 'confirmSlot', args: [dealId, 0n] }))
    await chain.test.increaseTime({ seconds: 100 })
    await chain.test.mine({ blocks: 1 })
    const challenge = await challengeOf(payer, dealId, 0)
    const { leaf, proof } = slotProof(slot, challenge.leafIndex)
    await call(
      market,
      encodeFunctionData({
        abi: marketAbi,
        functionName: 'submitProof',
        args: [
          dealId,
          0n,
          `0x${Buffer.from(leaf).toString('hex')}`,
          proof.map((p) => `0x${Buffer.from(p).toString('hex')}` as Hex),
        ],
      }),
    )
    const earned = slot.size * PRICE
    const withdraw = encodeFunctionData({ abi: marketAbi, functionName: 'withdraw' })

    // Armed: inside the payout the token calls the attacker, which calls withdraw again.
    await arm(withdraw)
    await rejectsWith(call(market, withdraw), 'ReentrancyGuardReentrantCall', /re-entrant call rejected/)
    assert.equal(
      await payer.readContract({ address: market, abi: marketAbi, functionName: 'earnings', args: [attacker] }),
      earned,
    )
    const balance = await tokenBalance(payer, attacker)

    // Unarmed, the same withdrawal pays exactly once.
    await sendTransaction(deployer, 'disarm', {
      address: attacker,
      abi: reentrantReceiverAbi,
      functionName: 'arm',
      args: ['0x0000000000000000000000000000000000000000', '0x'],
    })
    await call(market, withdraw)
    assert.equal(await tokenBalance(payer, attacker), balance + earned)
    assert.equal(
      await payer.readContract({ address: market, abi: marketAbi, functionName: 'earnings', args: [attacker] }),
      0n,
    )

    // The attacker as a deal owner: the refund of endDeal calls back into endDeal and closeDeal.
    await call(token, encodeFunctionData({ abi: hookTokenAbi, functionName: 'approve', args: [market, 10n ** 24n] }))
    const ownDeal = await call(
      market,
      encodeFunctionData({
        abi: marketAbi,
        functionName: 'createDeal',
        args: [
          {
            manifestCid: stringToHex('bafy'),
            size: 3000n,
            k: 1,
            slotRoots: [slot.root],
            slotSizes: [slot.size],
            nodes: [attacker],
            durationEpochs: 10,
            maxPricePerByteEpoch: PRICE,
            acceptances: [encodeSlotAcceptance({ ...ANY_ACCEPTANCE, nonce: 2n })],
          },
        ],
      }),
    )
    assert.equal(ownDeal.status, 'success')
    const ownId = dealId + 1n
    const marketBalance = await tokenBalance(payer, market)
    await arm(encodeFunctionData({ abi: marketAbi, functionName: 'endDeal', args: [ownId] }))
    await rejectsWith(
      call(market, encodeFunctionData({ abi: marketAbi, functionName: 'endDeal', args: [ownId] })),
      'ReentrancyGuardReentrantCall',
    )
    assert.equal(await tokenBalance(payer, market), marketBalance)
    assert.equal(
      (
        await getSlot({ ...payer, contracts: { token, registry, market } } as ChainClient, {
          dealId: ownId,
          slotIndex: 0,
        })
      ).state,
      'pending',
    )
  })
})
