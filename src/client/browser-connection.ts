/**
 * `connectNetwork` for a page (the SDK's browser entry): the same call, arguments and results as the Node entry's
 * (./network-connection.ts), over the page's dial-only host. The page dials the network file's nodes over WebSockets
 * or WebRTC-direct, puts with the pieces straight to the nodes and the deal paid by a key the page holds (or any
 * `ChainClient`, such as an injected EIP-1193 wallet's), and gets in the page.
 */
import type { Hex } from 'viem'
import type { ChainClient } from '../chain/index.ts'
import { InvalidArgumentError } from '../errors.ts'
import { type BrowserHost, createBrowserHost } from '../net/index.ts'
import type { AbortOptions } from '../node/index.ts'
import { type BrowserClient, type BrowserNetwork, createBrowserClient, parseBrowserNetwork } from './browser-client.ts'
import { putFromPage } from './browser-put.ts'
import type { CairnConnection } from './network-connection.ts'
import { pageWallet } from './page-wallet.ts'

export interface PageConnectInit {
  /** The network file: its contents as text (network.json) or parsed. */
  network: string | object
  /** The key (0x hex) of the wallet that pays deals; or pass `wallet`. Without either the page reads only. */
  privateKey?: Hex
  /** The paying wallet, e.g. `await injectedWallet(window.ethereum, network)`. */
  wallet?: ChainClient
}

export interface PageConnection extends CairnConnection {
  readonly network: BrowserNetwork
  readonly client: BrowserClient
  readonly host: BrowserHost
  readonly wallet: ChainClient | undefined
}

/**
 * Joins the network a network file describes from a page: dials its nodes (at least one must answer).
 *
 * @example
 * ```ts
 * const cairn = await connectNetwork({ network: await (await fetch('network.json')).text(), privateKey })
 * const { capability } = await cairn.put([bytes], { k: 2, n: 4 })
 * ```
 */
export async function connectNetwork(init: PageConnectInit, options: AbortOptions = {}): Promise<PageConnection> {
  if (init.privateKey !== undefined && init.wallet !== undefined) {
    throw new InvalidArgumentError('pass either privateKey or wallet, not both: one wallet pays the deals')
  }
  const network = parseBrowserNetwork(init.network)
  const host = await createBrowserHost({
    allowPrivateAddresses: network.allowPrivateAddresses,
    ...(network.iceServers === undefined ? {} : { iceServers: network.iceServers }),
  })
  try {
    const client = createBrowserClient({ host }, { network })
    await client.connect(options)
    const wallet = init.privateKey === undefined ? init.wallet : pageWallet(init.privateKey, network)
    return {
      network,
      client,
      host,
      wallet,
      async put(source, putInit = {}, putOptions = {}) {
        if (wallet === undefined) {
          throw new InvalidArgumentError(
            'a put pays a deal: connect with the privateKey of a funded wallet (or a wallet)',
          )
        }
        const { put, deal } = await putFromPage(client, wallet, source, putInit, putOptions)
        return { ...put, deal }
      },
      get: (capability, getOptions = {}) => client.get(capability, {}, getOptions),
      close: () => host.stop(),
    }
  } catch (error) {
    await host.stop()
    throw error
  }
}
