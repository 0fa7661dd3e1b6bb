import type { Address } from 'viem'
import {
  type ChainReader,
  createChainReader,
  getBalances,
  getNode,
  listActiveNodes,
  networkChain,
} from '../chain/index.ts'
import { mergePeerViews } from '../client/index.ts'
import { NotFoundError } from '../errors.ts'
import type { PeerView } from '../node/index.ts'
import { controlApiViews, locateNetwork, openClientSession } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { formatAge, formatTable } from './output.ts'
import { formatTokens } from './token-amount.ts'

/** The chain's view of a node: Registry status and stake, last proven epoch, what the Market owes it. */
interface ChainNodeView {
  account: Address
  status: string
  stake: string
  lastProvedEpoch: number | null
  missedProofs: number
  earnings: string
  rewards: string
}

async function chainViews(
  reader: ChainReader,
  accounts: Address[],
  signal: AbortSignal,
): Promise<Map<string, ChainNodeView>> {
  const listed = await listActiveNodes(reader, {}, { signal })
  const all = new Set<Address>([...accounts, ...listed.map((n) => n.account)])
  const views = new Map<string, ChainNodeView>()
  await Promise.all(
    [...all].map(async (account) => {
      const [node, balances] = await Promise.all([
        getNode(reader, { account }, { signal }),
        getBalances(reader, { account }, { signal }),
      ])
      if (node.peerId === '') return
      views.set(node.peerId, {
        account,
        status: node.status,
        stake: node.stake.toString(),
        lastProvedEpoch: node.lastProvedEpoch ?? null,
        missedProofs: node.missedProofs,
        earnings: balances.earnings.toString(),
        rewards: balances.rewards.toString(),
      })
    }),
  )
  return views
}

/** `cairn nodes [--json]`: the storage nodes with their failure-detector state. */
export async function runNodes(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const location = await locateNetwork(parsed.values)
  let peers: PeerView[]
  if (location.devnet !== undefined) {
    // A devnet's nodes answer on their control APIs: no need to join the network.
    const views = await controlApiViews(location.apis, { signal: context.signal })
    peers = mergePeerViews(views)
    for (const node of location.devnet.nodes) {
      if (!peers.some((p) => p.peerId === node.peerId)) {
        peers.push({
          peerId: node.peerId,
          state: 'dead',
          lastSeenMs: Number.POSITIVE_INFINITY,
          multiaddrs: node.multiaddrs,
        })
      }
    }
  } else {
    // Off a devnet: the Registry names the nodes and their heartbeats (through the session) say which are alive.
    const session = await openClientSession(location)
    try {
      if (location.network === undefined) await new Promise((resolve) => setTimeout(resolve, 2_000))
      peers = await session.client.nodes({ signal: context.signal })
    } finally {
      await session.close()
    }
  }
  const network = location.network
  const onChain =
    network === undefined
      ? new Map<string, ChainNodeView>()
      : await chainViews(
          createChainReader(networkChain(network)),
          location.devnet?.nodes.flatMap((n) => (n.address === undefined ? [] : [n.address])) ?? [],
          context.signal,
        )
  // A registered node that did not answer is listed too (dead): the Registry says it should be there.
  for (const [peerId] of onChain) {
    if (!peers.some((p) => p.peerId === peerId)) {
      peers.push({ peerId, state: 'dead', lastSeenMs: Number.POSITIVE_INFINITY, multiaddrs: [] })
    }
  }
  if (peers.length === 0) {
    throw new NotFoundError(
      location.devnet === undefined
        ? 'no storage node answered and none is registered: check --network FILE, or start a node (cairn node start)'
        : 'no storage node answered: is the devnet running? (cairn devnet)',
    )
  }
  const chain = network
  if (parsed.values.json === true) {
    const out = peers.map((p) => ({
      peerId: p.peerId,
      state: p.state,
      lastSeenMs: Number.isFinite(p.lastSeenMs) ? p.lastSeenMs : null,
      multiaddrs: p.multiaddrs,
      ...(p.freeSpace === undefined ? {} : { freeSpace: p.freeSpace }),
      ...(p.version === undefined ? {} : { version: p.version }),
      ...(onChain.has(p.peerId) ? { chain: onChain.get(p.peerId) } : {}),
    }))
    context.stdout.write(`${JSON.stringify(out)}\n`)
  } else {
    context.stdout.write(
      chain === undefined
        ? formatTable(
            ['PEER', 'STATE', 'LAST SEEN', 'ADDRESS'],
            peers.map((p) => [p.peerId, p.state, formatAge(p.lastSeenMs), p.multiaddrs[0] ?? '-']),
          )
        : formatTable(
            ['PEER', 'HEARTBEAT', 'LAST SEEN', 'CHAIN', 'LAST PROOF', 'MISSED', 'STAKE', 'EARNINGS'],
            peers.map((p) => {
              const c = onChain.get(p.peerId)
              return [
                p.peerId,
                p.state,
                formatAge(p.lastSeenMs),
                c?.status ?? 'unregistered',
                c?.lastProvedEpoch === null || c === undefined ? '-' : `epoch ${c.lastProvedEpoch}`,
                c === undefined ? '-' : String(c.missedProofs),
                c === undefined ? '-' : formatTokens(BigInt(c.stake)),
                c === undefined ? '-' : formatTokens(BigInt(c.earnings) + BigInt(c.rewards)),
              ]
            }),
          ),
    )
  }
  return 0
}
