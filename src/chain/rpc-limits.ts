/**
 * Named defaults of how Cairn reads a chain through a public JSON-RPC endpoint (the chain layer's constants.ts holds
 * the protocol's; these are the client's manners): the widest eth_getLogs block window, the backoff on rate limits,
 * and the filter methods never sent.
 */

/**
 * Widest block range of one eth_getLogs (inclusive of both ends): public endpoints refuse more (Alchemy and Infura
 * 2,000-10,000, some free tiers far less; the reader halves the window whenever an endpoint refuses its range).
 */
export const DEFAULT_LOG_BLOCK_RANGE = 2_000
/** Retries of a request an endpoint refused for its rate (or failed transiently) before giving up. */
export const DEFAULT_RPC_RETRIES = 6
/** First backoff wait, doubled on each retry (ms). */
export const DEFAULT_RPC_BACKOFF_START_MS = 250
/** Longest single backoff wait (ms): 250 ms doubling six times stays within 16 s in all. */
export const DEFAULT_RPC_BACKOFF_MAX_MS = 8_000
/** JSON-RPC methods of server-side filters: public endpoints drop them (or refuse them), so none is ever sent. */
export const FILTER_METHODS: ReadonlySet<string> = new Set([
  'eth_newFilter',
  'eth_newBlockFilter',
  'eth_newPendingTransactionFilter',
  'eth_getFilterChanges',
  'eth_getFilterLogs',
  'eth_uninstallFilter',
])
