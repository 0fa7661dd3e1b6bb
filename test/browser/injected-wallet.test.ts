/**
 * A page's wallet over an injected EIP-1193 provider (src/client/injected-wallet.ts), against a real devchain (anvil).
 * The provider stands in for a browser extension: it keeps its own key, signs typed data itself, sends transactions
 * through anvil for its account, and forwards every other request to the chain's RPC.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { privateKeyToAccount } from 'viem/accounts'
import { createChainReader, type Devchain, getBalances, startDevchain, transferTokens } from '../../src/chain/index.ts'
import { type Eip1193Provider, injectedWallet } from '../../src/client/injected-wallet.ts'
import { signUploadTicket, uploadTicketProblem } from '../../src/node/index.ts'

describe('a wallet over an injected EIP-1193 provider', { timeout: 120_000 }, () => {
  let dir: string
  let devchain: Devchain
  let provider: Eip1193Provider
  let calls: string[]

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-injected-'))
    devchain = await startDevchain({ dir, accounts: 3 })
    const key = privateKeyToAccount(devchain.accounts[1]!)
    const rpc = async (method: string, params: unknown): Promise<unknown> => {
      const response = await fetch(devchain.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: params ?? [] }),
      })
      const body = (await response.json()) as { result?: unknown; error?: { message: string } }
      if (body.error !== undefined) throw new Error(body.error.message)
      return body.result
    }
    await rpc('anvil_impersonateAccount', [key.address])
    calls = []
    provider = {
      async request({ method, params }) {
        calls.push(method)
        if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [key.address]
        if (method === 'eth_signTypedData_v4') {
          const typed = JSON.parse((params as [string, string])[1]) as Parameters<typeof key.signTypedData>[0]
          return await key.signTypedData(typed)
        }
        return await rpc(method, params)
      },
    }
  })

  after(async () => {
    await devchain?.stop()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  const network = () => ({
    chainId: devchain.chainId,
    rpc: devchain.rpcUrl,
    contracts: devchain.contracts as unknown as Record<string, string>,
    bootstrap: [],
    allowPrivateAddresses: true,
  })

  it('refuses a wallet on another chain, naming the chain to switch to', async () => {
    await assert.rejects(injectedWallet(provider, { ...network(), chainId: devchain.chainId + 1 }), {
      message: new RegExp(
        `the wallet is on chain ${devchain.chainId}, the network on chain ${devchain.chainId + 1}: switch`,
      ),
    })
  })

  it('signs upload tickets a node accepts and sends transactions, without the page holding a key', async () => {
    const wallet = await injectedWallet(provider, network())
    const node = privateKeyToAccount(devchain.accounts[2]!).address
    const ticket = await signUploadTicket(wallet, { node, bytes: 1 << 20, seconds: 600 })
    assert.equal(ticket.account, privateKeyToAccount(devchain.accounts[1]!).address)
    const problem = await uploadTicketProblem(
      { chainId: devchain.chainId, market: devchain.contracts.market },
      { node, bytes: 1 << 20, ticket, now: Math.floor(Date.now() / 1000) },
    )
    assert.equal(problem, undefined, 'the node accepts the ticket')
    assert.ok(calls.includes('eth_signTypedData_v4'), 'the wallet signed it')
    const reader = createChainReader({
      rpcUrl: devchain.rpcUrl,
      chainId: devchain.chainId,
      contracts: devchain.contracts,
    })
    const before = await getBalances(reader, { account: node })
    await transferTokens(wallet, { to: node, amount: 5n })
    const afterBalances = await getBalances(reader, { account: node })
    assert.equal(afterBalances.tokens - before.tokens, 5n, 'the transfer went through the wallet')
    assert.ok(calls.includes('eth_sendTransaction'), 'the wallet sent it')
  })
})
