/**
 * The SDK's entry for bundlers (`import { createClient } from 'cairn'` under the `browser` condition of package.json's
 * exports map; scripts/build-sdk.ts bundles it to dist/browser/ and checks that no Node built-in reaches it).
 * `createClient` is the page's client: given a dial-only host (`createBrowserHost`) and the network file's contents,
 * it dials the storage nodes and reads files straight from them; `putFromPage` stores a file from the page and opens
 * its deal with the page's wallet. `connectNetwork` does all of it in one call, with the same arguments as in Node.
 * Keys never leave the page.
 */

export { type ChainClient, createChainClient, createChainReader } from '../chain/index.ts'
export * from '../errors.ts'
export { type BrowserHost, type BrowserHostInit, createBrowserHost } from '../net/index.ts'
export { formatCapability, parseCapability } from '../storage/index.ts'
export {
  type BrowserClient,
  type BrowserClientHost,
  type BrowserNetwork,
  createBrowserClient,
  createBrowserClient as createClient,
  parseBrowserNetwork,
} from './browser-client.ts'
export { connectNetwork, type PageConnectInit, type PageConnection } from './browser-connection.ts'
export { type PagePutInit, type PagePutResult, putFromPage } from './browser-put.ts'
export { type Eip1193Provider, injectedWallet } from './injected-wallet.ts'
export type { ClientProgressEvent, GetInit, PutResult } from './interface.ts'
