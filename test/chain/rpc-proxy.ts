/**
 * A JSON-RPC proxy in front of anvil that behaves like a public endpoint: it refuses eth_getLogs over more than
 * `maxLogRange` blocks (JSON-RPC -32005 "block range too large", as Alchemy/Infura word it), answers HTTP 429 above
 * `maxRequestsPerSecond`, and refuses anvil_*, evm_* and filter methods. It records every request (method, and the
 * block range of each eth_getLogs) so tests can assert what reached it. A real HTTP server on 127.0.0.1, port 0.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RpcProxyInit {
  /** The anvil to forward to. */
  upstream: string
  /** Widest eth_getLogs range (blocks, inclusive) answered; wider is refused with -32005. */
  maxLogRange: number
  /** Requests per second answered (sliding one-second window); more get HTTP 429. Infinity: no limit. */
  maxRequestsPerSecond: number
}

/** One request as the proxy saw it. */
export interface RpcRecord {
  at: number
  method: string
  /** eth_getLogs only: the block range asked. */
  fromBlock?: bigint
  toBlock?: bigint
  /** What the proxy answered itself instead of forwarding ('range', 'rate', 'refused'), or 'forwarded'. */
  outcome: 'forwarded' | 'range' | 'rate' | 'refused'
}

export interface RpcProxy {
  url: string
  records: RpcRecord[]
  /** Changes the limits while running (e.g. a stricter rate for one test). */
  limits: { maxLogRange: number; maxRequestsPerSecond: number }
  /**
   * An outage (chaos scenario 8): `true` stops listening and resets every open connection, so callers see a refused
   * or dropped connection as from an endpoint that is down; `false` listens again on the same port.
   */
  setDown(down: boolean): Promise<void>
  /** True while `setDown(true)` holds. */
  readonly down: boolean
  stop(): Promise<void>
}

const REFUSED =
  /^(anvil_|evm_|hardhat_|eth_newFilter|eth_newBlockFilter|eth_newPendingTransactionFilter|eth_getFilter|eth_uninstallFilter)/

function blockOf(value: unknown, latest: bigint): bigint {
  if (typeof value === 'string' && value.startsWith('0x')) return BigInt(value)
  if (value === 'earliest') return 0n
  return latest
}

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function forward(upstream: string, payload: unknown): Promise<unknown> {
  const response = await fetch(upstream, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  })
  return response.json()
}

/**
 * Starts the proxy.
 *
 * @example
 * ```ts
 * const proxy = await startRpcProxy({ upstream: devchain.rpcUrl, maxLogRange: 100, maxRequestsPerSecond: 50 })
 * const reader = createChainReader({ rpcUrl: proxy.url, chainId, contracts })
 * ```
 */
export async function startRpcProxy(init: RpcProxyInit): Promise<RpcProxy> {
  const records: RpcRecord[] = []
  const limits = { maxLogRange: init.maxLogRange, maxRequestsPerSecond: init.maxRequestsPerSecond }
  const recent: number[] = []
  let latest = 0n

  const answerOne = async (call: { id?: unknown; method?: unknown; params?: unknown }): Promise<unknown> => {
    const method = String(call.method)
    const id = call.id ?? null
    const record: RpcRecord = { at: Date.now(), method, outcome: 'forwarded' }
    records.push(record)
    if (REFUSED.test(method)) {
      record.outcome = 'refused'
      return {
        jsonrpc: '2.0',
        id,
        error: { code: -32601, message: `the method ${method} does not exist/is not available` },
      }
    }
    if (method === 'eth_getLogs') {
      const filter = ((call.params as unknown[]) ?? [])[0] as {
        fromBlock?: string
        toBlock?: string
        blockHash?: string
      }
      if (filter?.blockHash === undefined) {
        if (filter?.toBlock === undefined || filter.toBlock === 'latest' || filter.fromBlock === undefined) {
          const head = (await forward(init.upstream, { jsonrpc: '2.0', id: 0, method: 'eth_blockNumber' })) as {
            result: string
          }
          latest = BigInt(head.result)
        }
        record.fromBlock = blockOf(filter?.fromBlock ?? 'latest', latest)
        record.toBlock = blockOf(filter?.toBlock ?? 'latest', latest)
        if (record.toBlock - record.fromBlock + 1n > BigInt(limits.maxLogRange)) {
          record.outcome = 'range'
          return {
            jsonrpc: '2.0',
            id,
            error: {
              code: -32005,
              message: `block range too large: eth_getLogs is limited to ${limits.maxLogRange} blocks`,
            },
          }
        }
      }
    }
    const answer = (await forward(init.upstream, { ...call, jsonrpc: '2.0' })) as object
    return answer
  }

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const now = Date.now()
    while (recent.length > 0 && recent[0]! <= now - 1000) recent.shift()
    const text = await body(request)
    let payload: unknown
    try {
      payload = JSON.parse(text)
    } catch {
      response.writeHead(400).end()
      return
    }
    const calls = Array.isArray(payload) ? payload : [payload]
    if (recent.length + calls.length > limits.maxRequestsPerSecond) {
      for (const call of calls) {
        records.push({ at: now, method: String((call as { method?: unknown }).method), outcome: 'rate' })
      }
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' })
      response.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: 429, message: 'Too Many Requests' } }))
      return
    }
    for (let i = 0; i < calls.length; i++) recent.push(now)
    const answers = await Promise.all(calls.map((call) => answerOne(call as { method?: unknown })))
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify(Array.isArray(payload) ? answers : answers[0]))
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(502)
      response.end(String(error))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  let down = false
  return {
    url: `http://127.0.0.1:${port}`,
    records,
    limits,
    get down() {
      return down
    },
    async setDown(value) {
      if (value === down) return
      down = value
      if (value) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeAllConnections()
        await closed
      } else {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject)
          server.listen(port, '127.0.0.1', () => {
            server.off('error', reject)
            resolve()
          })
        })
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
