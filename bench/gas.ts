/**
 * `npm run bench -- gas`: gas used by every Cairn contract call on a fresh devchain (anvil, cancun), including
 * submitProof and repairSlot on a 100 GiB slot (2^27 leaves: a 27-hash path and a 1 KiB leaf). Gas is deterministic;
 * the wall time of the run depends on the machine. Prints a table, then one JSON line.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestClient, http, parseEventLogs, type TransactionReceipt, toHex } from 'viem'
import {
  addStake,
  approve,
  type ChainClient,
  closeDeal,
  confirmSlot,
  createChainClient,
  createDeal,
  drawSeed,
  endDeal,
  getChallenge,
  getEpochInfo,
  marketAbi,
  registerNode,
  repairSlot,
  reportMissed,
  signDealAcceptances,
  startDevchain,
  submitProof,
  submitProofs,
  topUpDeal,
  unbondNode,
  updateEndpoints,
  updateOffer,
  withdrawEarnings,
  withdrawStake,
} from '../src/chain/index.ts'
import { sendTransaction } from '../src/chain/transaction.ts'

const CAIRN = 10n ** 18n
const PRICE = 1_000n
const GIB = 2n ** 30n

/** A slot of `2^levels` identical 1 KiB leaves: every node of a level is equal, so any path is [h0 .. h(levels-1)]. */
function uniformSlot(levels: number) {
  const leaf = new Uint8Array(1024).map((_, i) => (i * 131 + 7) & 0xff)
  const path: Uint8Array[] = []
  let node = createHash('sha256')
    .update(new Uint8Array([0]))
    .update(leaf)
    .digest()
  for (let level = 0; level < levels; level++) {
    path.push(node)
    node = createHash('sha256')
      .update(new Uint8Array([1]))
      .update(node)
      .update(node)
      .digest()
  }
  return { leaf, proof: path, root: toHex(node), size: 1024n << BigInt(levels) }
}

const rows: Array<{ call: string; gas: bigint; note: string }> = []
function record(call: string, receipt: TransactionReceipt, note = '') {
  rows.push({ call, gas: receipt.gasUsed, note })
  return receipt.gasUsed
}

const started = performance.now()
const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-gas-'))
const devchain = await startDevchain({ dir, blockTime: 0, accounts: 10, params: { epochSeconds: 100 } })
try {
  const clients: ChainClient[] = devchain.accounts.map((privateKey) =>
    createChainClient({
      rpcUrl: devchain.rpcUrl,
      chainId: devchain.chainId,
      privateKey,
      contracts: devchain.contracts,
    }),
  )
  const test = createTestClient({ mode: 'anvil', transport: http(devchain.rpcUrl) })
  const nextEpoch = async () => {
    const info = await getEpochInfo(clients[0]!)
    await test.setNextBlockTimestamp({ timestamp: BigInt(info.genesis + (info.epoch + 1) * info.epochSeconds) })
    await test.mine({ blocks: 1 })
  }
  const user = clients[1]!
  const nodes = clients.slice(2, 9)
  const multiaddrs = ['/ip4/203.0.113.7/tcp/4001', '/ip4/203.0.113.7/tcp/4002/ws']

  record(
    'register (permit, 2 multiaddrs)',
    await registerNode(nodes[0]!, {
      peerId: '12D3KooWLRPJAA5o6u2vn2fPwdLkMkd2e6FjfUtXHxkWEb5rQv6F',
      multiaddrs,
      capacity: 10n ** 13n,
      pricePerByteEpoch: PRICE,
      stake: 1_000n * CAIRN,
    }),
  )
  for (const [i, node] of nodes.entries()) {
    if (i === 0) continue
    await registerNode(node, {
      peerId: `12D3KooWLRPJAA5o6u2vn2fPwdLkMkd2e6FjfUtXHxkWEb5rQv${i}`,
      multiaddrs,
      capacity: 10n ** 13n,
      pricePerByteEpoch: PRICE,
      stake: 1_000n * CAIRN,
    })
  }
  record('addStake (permit)', await addStake(nodes[0]!, { amount: 100n * CAIRN }))
  record('updateEndpoints', await updateEndpoints(nodes[0]!, { peerId: '12D3KooWNew', multiaddrs }))
  record('updateOffer', await updateOffer(nodes[0]!, { capacity: 10n ** 13n, pricePerByteEpoch: PRICE }))

  // A 6-slot deal (k=4, n=6) of 100 GiB slots.
  const big = uniformSlot(27)
  const slots = nodes.slice(0, 6).map((node) => ({ root: big.root, size: big.size, node: node.account.address }))
  const dealParams = {
    manifestCid: 'bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
    size: 4n * 100n * GIB,
    k: 4,
    slots,
    durationEpochs: 720,
    maxPricePerByteEpoch: PRICE,
  }
  await approve(user, { spender: 'market', amount: 10n ** 30n })
  // Each node signs its acceptance of its slot (single use: every deal below is signed afresh).
  const signed = (params: typeof dealParams) => signDealAcceptances(user, nodes, params)
  const createdReceipt = await createDeal(user, { ...(await signed(dealParams)), payment: 'allowance' })
  const createTx = await user.getTransactionReceipt({ hash: createdReceipt.transactionHash })
  const createDealGas = record('createDeal (n=6, approved)', createTx)
  const permitDeal = await createDeal(user, await signed(dealParams))
  record('createDeal (n=6, permit)', await user.getTransactionReceipt({ hash: permitDeal.transactionHash }))
  const dealId = createdReceipt.dealId
  record('confirmSlot', await confirmSlot(nodes[0]!, { dealId, slotIndex: 0 }))
  for (let i = 1; i < 6; i++) await confirmSlot(nodes[i]!, { dealId, slotIndex: i })
  for (let i = 0; i < 6; i++) await confirmSlot(nodes[i]!, { dealId: permitDeal.dealId, slotIndex: i })

  const prove = (node: ChainClient, id: bigint, slotIndex: number) =>
    submitProof(node, { dealId: id, slotIndex, leaf: big.leaf, proof: big.proof })
  /** Every node proves its slot of both deals, except those listed. */
  const round = async (skip: number[]) => {
    for (let i = 0; i < 6; i++) {
      if (skip.includes(i)) continue
      await prove(nodes[i]!, dealId, i)
      await prove(nodes[i]!, permitDeal.dealId, i)
    }
  }

  await nextEpoch()
  record('drawSeed', await drawSeed(user))
  const firstEver = record('submitProof 100 GiB (node first ever)', await prove(nodes[0]!, dealId, 0), 'new storage')
  const sameEpoch = record('submitProof 100 GiB (2nd slot, same epoch)', await prove(nodes[0]!, permitDeal.dealId, 0))
  await round([0])

  await nextEpoch()
  await drawSeed(user)
  const newEpoch = record(
    'submitProof 100 GiB (1st of epoch)',
    await prove(nodes[0]!, dealId, 0),
    'settles last epoch reward',
  )
  record('submitProof 100 GiB (2nd of epoch)', await prove(nodes[0]!, permitDeal.dealId, 0))
  await round([0])
  const small = uniformSlot(0)
  const smallDeal = await createDeal(
    user,
    await signed({
      ...dealParams,
      slots: [{ root: small.root, size: small.size, node: nodes[1]!.account.address }],
      k: 1,
    }),
  )
  await confirmSlot(nodes[1]!, { dealId: smallDeal.dealId, slotIndex: 0 })
  const proveSmall = () =>
    submitProof(nodes[1]!, { dealId: smallDeal.dealId, slotIndex: 0, leaf: small.leaf, proof: [] })

  await nextEpoch()
  await drawSeed(user)
  await round([])
  record('submitProof 1 KiB (3rd of epoch)', await proveSmall())
  record('withdraw (payments + minted reward)', await withdrawEarnings(nodes[2]!))

  // Node 5 stops proving; its missed epochs are reported, its slot opens after 3, and node 6 repairs it.
  await nextEpoch()
  await drawSeed(user)
  await round([5])
  await proveSmall()
  await nextEpoch()
  await drawSeed(user)
  const miss = await reportMissed(user, { dealId, slotIndex: 5 })
  record('reportMissed (1 epoch, slash)', await user.getTransactionReceipt({ hash: miss.transactionHash }))
  await round([5])
  await proveSmall()
  await nextEpoch()
  await drawSeed(user)
  await round([5])
  await proveSmall()
  await nextEpoch()
  await drawSeed(user)
  const open = await reportMissed(user, { dealId, slotIndex: 5 })
  record(
    `reportMissed (${open.missed} epochs, opens slot)`,
    await user.getTransactionReceipt({ hash: open.transactionHash }),
  )
  const challenge = await getChallenge(user, { dealId, slotIndex: 5 })
  const repairGas = record(
    'repairSlot 100 GiB',
    await repairSlot(nodes[6]!, { dealId, slotIndex: 5, leaf: big.leaf, proof: big.proof }),
    `leaf ${challenge?.leafIndex} of 2^27, bounty paid`,
  )
  record('topUp (permit, 10 epochs)', await topUpDeal(user, { dealId, extraEpochs: 10 }))
  record('endDeal (n=6)', await endDeal(user, { dealId }))
  await nextEpoch()
  await nextEpoch()
  record('closeDeal (n=6, reports misses)', await closeDeal(user, { dealId }))
  record(
    'closeDeal (n=1)',
    await (async () => {
      await endDeal(user, { dealId: smallDeal.dealId })
      await nextEpoch()
      return closeDeal(user, { dealId: smallDeal.dealId })
    })(),
  )
  record('unbond', await unbondNode(nodes[6]!))
  await sendTransaction(user, 'noop', {
    address: devchain.contracts.market,
    abi: marketAbi,
    functionName: 'drawSeed',
    args: [],
  })
  await test.increaseTime({ seconds: 3600 })
  await closeDeal(user, { dealId: permitDeal.dealId }).catch(() => {})
  await test.mine({ blocks: 1 })
  await withdrawStake(nodes[6]!).then(
    (receipt) => record('withdrawStake', receipt),
    (error: Error) => rows.push({ call: 'withdrawStake', gas: 0n, note: `skipped: ${error.message}` }),
  )

  // Batches: one node holds slot 0 of 16 one-slot deals of 100 GiB. For N = 1, 4, 16 it proves N slots one
  // transaction each in one epoch, then the same N slots in one submitProofs transaction in the next epoch (both
  // epochs start with the node's first proof, which settles its previous reward).
  const batcher = clients[9]!
  await registerNode(batcher, {
    peerId: '12D3KooWBatchProver',
    multiaddrs,
    capacity: 10n ** 14n,
    pricePerByteEpoch: PRICE,
    stake: 1_000n * CAIRN,
  })
  const batchDeals: bigint[] = []
  for (let i = 0; i < 16; i++) {
    const { dealId: id } = await createDeal(
      user,
      await signDealAcceptances(user, [batcher], {
        ...dealParams,
        k: 1,
        slots: [{ root: big.root, size: big.size, node: batcher.account.address }],
      }),
    )
    await confirmSlot(batcher, { dealId: id, slotIndex: 0 })
    batchDeals.push(id)
  }
  const batchFigures: Record<string, number> = {}
  const batchOf = (ids: bigint[]) =>
    submitProofs(
      batcher,
      ids.map((id) => ({ dealId: id, slotIndex: 0, leaf: big.leaf, proof: big.proof })),
    )
  /** Market.submitProofs itself (the action sends a lone proof through submitProof instead). */
  const contractBatch = (ids: bigint[]) =>
    sendTransaction(batcher, 'submitProofs', {
      address: devchain.contracts.market,
      abi: marketAbi,
      functionName: 'submitProofs',
      args: [
        ids.map((id) => ({ dealId: id, slotIndex: 0n, leaf: toHex(big.leaf), proof: big.proof.map((h) => toHex(h)) })),
      ],
    })
  // Every epoch all 16 slots are proven (measured ones first), so none misses an epoch; a warm-up epoch first, so
  // no measured proof pays the node's first-ever storage writes.
  await nextEpoch()
  await drawSeed(user)
  await batchOf(batchDeals)
  for (const n of [1, 4, 16]) {
    const ids = batchDeals.slice(0, n)
    const rest = batchDeals.slice(n)
    await nextEpoch()
    await drawSeed(user)
    let singles = 0n
    for (const id of ids) singles += (await prove(batcher, id, 0)).gasUsed
    if (rest.length > 0) await batchOf(rest)
    await nextEpoch()
    await drawSeed(user)
    const receipt = await contractBatch(ids)
    if (rest.length > 0) await batchOf(rest)
    const accepted = parseEventLogs({ abi: marketAbi, logs: receipt.logs, eventName: 'ProofAccepted' }).length
    if (accepted !== n) throw new Error(`submitProofs of ${n} slots accepted ${accepted}`)
    const batch = receipt.gasUsed
    const perSlot = batch / BigInt(n)
    const singlePerSlot = singles / BigInt(n)
    const saved = Number(((singlePerSlot - perSlot) * 1000n) / singlePerSlot) / 10
    rows.push({
      call: `submitProofs 100 GiB x ${n} (1st of epoch)`,
      gas: batch,
      note: `${perSlot}/slot vs ${singlePerSlot}/slot as ${n} submitProof tx (${saved >= 0 ? `${saved}% less` : `${-saved}% more`})`,
    })
    batchFigures[`submitProofs_${n}_gas_per_slot`] = Number(perSlot)
    batchFigures[`submitProof_x${n}_gas_per_slot`] = Number(singlePerSlot)
  }

  const width = Math.max(...rows.map((r) => r.call.length))
  console.log(`${'call'.padEnd(width)}  ${'gas'.padStart(9)}  note`)
  for (const row of rows) console.log(`${row.call.padEnd(width)}  ${row.gas.toString().padStart(9)}  ${row.note}`)
  const submitProofGas = newEpoch // the first proof of an epoch costs the most: it also settles the reward
  console.log(
    `\nsubmitProof on a 100 GiB slot: ${submitProofGas} gas in a node's first proof of an epoch (goal < 150000), ` +
      `${sameEpoch} for each further slot; anvil --hardfork cancun; ${Math.round(performance.now() - started)} ms`,
  )
  console.log(
    JSON.stringify({
      bench: 'gas',
      submitProof_gas: Number(submitProofGas),
      submitProof_next_slot_gas: Number(sameEpoch),
      submitProof_first_ever_gas: Number(firstEver),
      createDeal_gas: Number(createDealGas),
      repairSlot_gas: Number(repairGas),
      slot_bytes: Number(big.size),
      proof_hashes: big.proof.length,
      ...batchFigures,
    }),
  )
} finally {
  await devchain.stop()
  await rm(dir, { recursive: true, force: true })
}
