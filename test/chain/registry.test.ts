import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  addStake,
  cairnTokenAbi,
  getBalances,
  getChainEvents,
  getNode,
  listActiveNodes,
  registerNode,
  registryAbi,
  signPermit,
  unbondNode,
  unjailNode,
  updateEndpoints,
  updateOffer,
  withdrawStake,
} from '../../src/chain/index.ts'
import { sendTransaction } from '../../src/chain/transaction.ts'
import { InsufficientFundsError, UnauthorizedError } from '../../src/errors.ts'
import {
  CAIRN,
  holdSlot,
  MIN_STAKE,
  openDeal,
  PRICE,
  registerNodes,
  rejectsWith,
  slotData,
  tokenBalance,
  useTestChain,
} from './harness.ts'

const chain = useTestChain()

const c = (i: number) => chain.clients[i]!
const registry = () => chain.devchain.contracts.registry
const offer = {
  peerId: '12D3KooWLRPJAA5o6u2vn2fPwdLkMkd2e6FjfUtXHxkWEb5rQv6F',
  multiaddrs: ['/ip4/127.0.0.1/tcp/4001', '/ip4/127.0.0.1/tcp/4002/ws'],
  capacity: 10n ** 12n,
  pricePerByteEpoch: PRICE,
  stake: MIN_STAKE,
}

describe('register', () => {
  test('with a permit in one transaction: stake locked, record readable, listed as active', async () => {
    const before = await tokenBalance(c(2), c(2).account.address)
    const receipt = await registerNode(c(2), offer)
    assert.equal(await tokenBalance(c(2), c(2).account.address), before - MIN_STAKE)
    assert.equal(await tokenBalance(c(2), registry()), MIN_STAKE)
    const record = await getNode(c(1), { account: c(2).account.address })
    assert.deepEqual(
      [record.status, record.stake, record.peerId, record.multiaddrs, record.capacity, record.lastProvedEpoch],
      ['active', MIN_STAKE, offer.peerId, offer.multiaddrs, offer.capacity, undefined],
    )
    const events = await getChainEvents(c(1), { contract: 'registry', fromBlock: receipt.blockNumber })
    assert.deepEqual(
      events.map((e) => e.eventName),
      ['NodeRegistered', 'EndpointsUpdated'],
    )
  })

  test('with a prior approval', async () => {
    const { approve } = await import('../../src/chain/index.ts')
    await approve(c(2), { spender: 'registry', amount: MIN_STAKE })
    await registerNode(c(2), { ...offer, payment: 'allowance' })
    assert.equal((await getNode(c(1), { account: c(2).account.address })).status, 'active')
  })

  test('failures carry the exact reason', async () => {
    const allowance = await rejectsWith(
      registerNode(c(2), { ...offer, payment: 'allowance' }),
      'ERC20InsufficientAllowance',
    )
    assert.ok(allowance instanceof InsufficientFundsError)
    assert.match(allowance.message, /approve 1000 CAIRN first/)
    await rejectsWith(
      registerNode(c(2), { ...offer, stake: MIN_STAKE - 1n }),
      'StakeBelowMinimum',
      /below the minimum of 1000 CAIRN/,
    )
    await rejectsWith(registerNode(c(2), { ...offer, peerId: '' }), 'InvalidPeerId')
    await rejectsWith(
      registerNode(c(2), { ...offer, multiaddrs: Array(9).fill('/ip4/1.2.3.4/tcp/1') }),
      'TooManyMultiaddrs',
    )
    await rejectsWith(registerNode(c(2), { ...offer, multiaddrs: ['x'.repeat(257)] }), 'MultiaddrTooLong')
    await registerNode(c(2), offer)
    await rejectsWith(registerNode(c(2), offer), 'AlreadyRegistered')
    await rejectsWith(updateOffer(c(3), { capacity: 1n, pricePerByteEpoch: 1n }), 'NotRegistered')
    await rejectsWith(addStake(c(2), { amount: 0n }), 'ZeroAmount')
  })

  test('an expired permit is ignored and the allowance error explains the fix', async () => {
    const permit = await signPermit(c(2), { spender: 'registry', value: MIN_STAKE, deadline: 1n })
    await rejectsWith(
      sendTransaction(c(2), 'register', {
        address: registry(),
        abi: registryAbi,
        functionName: 'registerWithPermit',
        args: ['0x01', [], 1n, 1n, MIN_STAKE, permit],
      }),
      'ERC20InsufficientAllowance',
    )
  })
})

describe('updates and listing', () => {
  test('endpoints and offer updates are visible; active nodes are listed page by page', async () => {
    await registerNodes([c(2), c(3), c(4), c(5), c(6)])
    await updateEndpoints(c(3), { peerId: '12D3KooWNew', multiaddrs: ['/dns4/node.example/tcp/443/wss'] })
    await updateOffer(c(3), { capacity: 5n, pricePerByteEpoch: 7n })
    const record = await getNode(c(1), { account: c(3).account.address })
    assert.deepEqual(
      [record.peerId, record.multiaddrs, record.capacity, record.pricePerByteEpoch],
      ['12D3KooWNew', ['/dns4/node.example/tcp/443/wss'], 5n, 7n],
    )
    const all = await listActiveNodes(c(1), { pageSize: 2 })
    assert.deepEqual(new Set(all.map((n) => n.account)), new Set([2, 3, 4, 5, 6].map((i) => c(i).account.address)))
    assert.equal((await listActiveNodes(c(1), { pageSize: 2, limit: 3 })).length, 3)
    await unbondNode(c(4))
    assert.equal((await listActiveNodes(c(1))).length, 4)
  })
})

describe('unbonding', () => {
  test('stake comes back only after the delay and once no slot is held', async () => {
    await registerNodes([c(2)])
    await addStake(c(2), { amount: 10n * CAIRN })
    const dealId = await openDeal(c(1), [c(2)], [holdSlot(slotData(2000))], { durationEpochs: 1 })
    await unbondNode(c(2))
    const record = await getNode(c(1), { account: c(2).account.address })
    assert.equal(record.status, 'unbonding')
    await rejectsWith(unbondNode(c(2)), 'WrongStatus', /is unbonding/)
    await rejectsWith(withdrawStake(c(2)), 'UnbondingNotDue')
    await chain.test.increaseTime({ seconds: 601 })
    await chain.test.mine({ blocks: 1 })
    await rejectsWith(withdrawStake(c(2)), 'SlotsStillHeld', /still holds 1 slot/)
    // The deal (1 epoch) is over after the time jump; closing it frees the slot (and reports its missed epoch).
    const { closeDeal } = await import('../../src/chain/index.ts')
    await closeDeal(c(1), { dealId })
    const before = await tokenBalance(c(2), c(2).account.address)
    await withdrawStake(c(2))
    const stake = MIN_STAKE + 10n * CAIRN - 50n * CAIRN
    assert.equal(await tokenBalance(c(2), c(2).account.address), before + stake)
    assert.equal((await getNode(c(1), { account: c(2).account.address })).status, 'exited')
    assert.equal((await getBalances(c(2))).stake, 0n)
    await rejectsWith(withdrawStake(c(2)), 'WrongStatus', /is exited/)
    await registerNode(c(2), offer)
  })

  test('unjail needs a jailed node with the minimum stake', async () => {
    await registerNodes([c(2)])
    await rejectsWith(unjailNode(c(2)), 'WrongStatus', /is active/)
  })
})

describe('access control', () => {
  test('only the Market slashes, only the deployer links once, only the Market mints', async () => {
    const { token, market } = chain.devchain.contracts
    const slash = await rejectsWith(
      sendTransaction(c(2), 'slash', {
        address: registry(),
        abi: registryAbi,
        functionName: 'slash',
        args: [c(3).account.address, 1n],
      }),
      'NotMarket',
    )
    assert.ok(slash instanceof UnauthorizedError)
    await rejectsWith(
      sendTransaction(c(0), 'setMarket', {
        address: registry(),
        abi: registryAbi,
        functionName: 'setMarket',
        args: [c(0).account.address],
      }),
      'MarketAlreadySet',
    )
    await rejectsWith(
      sendTransaction(c(2), 'setMarket', {
        address: registry(),
        abi: registryAbi,
        functionName: 'setMarket',
        args: [c(2).account.address],
      }),
      'NotDeployer',
    )
    await rejectsWith(
      sendTransaction(c(2), 'mint', {
        address: token,
        abi: cairnTokenAbi,
        functionName: 'mint',
        args: [c(2).account.address, 1n],
      }),
      'NotMinter',
    )
    await rejectsWith(
      sendTransaction(c(0), 'setMinter', {
        address: token,
        abi: cairnTokenAbi,
        functionName: 'setMinter',
        args: [c(0).account.address],
      }),
      'MinterAlreadySet',
    )
    assert.equal(await c(1).readContract({ address: token, abi: cairnTokenAbi, functionName: 'minter' }), market)
  })
})
