/**
 * The SDK's entry for Node (`import { createClient } from 'cairn'` under the `node` condition of package.json's
 * exports map; scripts/build-sdk.ts bundles it to dist/node/). `createClient` is the Node client over any network
 * that stores and fetches pieces; a script that talks to storage nodes directly, as a page does, takes
 * `createBrowserHost` (WebSockets and WebRTC-direct work in Node too), `createBrowserClient` and `putFromPage`.
 */

export { type ChainClient, createChainClient, createChainReader } from '../chain/index.ts'
export * from '../errors.ts'
export { type BrowserHost, type BrowserHostInit, createBrowserHost } from '../net/index.ts'
export { formatCapability, parseCapability } from '../storage/index.ts'
export * from './index.ts'
