/**
 * The `/api/v1` route table, shared by the server (which registers each path) and the typed client (which fills
 * them in). Browser-safe: no Node imports.
 */
import type {
  BankInfo,
  DealInfo,
  FileStatus,
  GatewayInfo,
  NodeInfo,
  PutResult,
  RemovedFile,
  StoredFile,
  WalletInfo,
} from './interface.ts'
import type { QuoteInfo } from './quote-info.ts'
import type { TreeListing } from './tree-listing.ts'

export interface RouteDefinition {
  method: 'GET' | 'POST' | 'DELETE' | 'HEAD'
  /** Fastify path syntax (`:name` parameters). */
  path: string
  /** Needs the bearer token (reads of content may be public, see `publicReads`). */
  auth: 'none' | 'token' | 'token-or-public'
  summary: string
}

export const ROUTES = {
  health: { method: 'GET', path: '/api/v1/health', auth: 'none', summary: 'liveness: {"ok": true}' },
  info: { method: 'GET', path: '/api/v1/info', auth: 'none', summary: 'gateway version, URLs, public reads' },
  upload: {
    method: 'POST',
    path: '/api/v1/files',
    auth: 'token',
    summary: 'store the raw request body as a file (streamed); query: name, k, n; returns the capability',
  },
  listFiles: { method: 'GET', path: '/api/v1/files', auth: 'token', summary: "files this gateway's user stored" },
  fileStatus: {
    method: 'GET',
    path: '/api/v1/files/:capability',
    auth: 'token',
    summary: 'size, redundancy, health and the holder of every slot',
  },
  download: {
    method: 'GET',
    path: '/api/v1/files/:capability/content',
    auth: 'token-or-public',
    summary: 'the bytes, with Range (206, 416)',
  },
  head: {
    method: 'HEAD',
    path: '/api/v1/files/:capability/content',
    auth: 'token-or-public',
    summary: 'size and type without the bytes',
  },
  tree: {
    method: 'GET',
    path: '/api/v1/files/:capability/*',
    auth: 'token-or-public',
    summary:
      'a folder stored with put -r: a folder path (or none) answers its listing as JSON, a file path its bytes (Range)',
  },
  forgetFile: {
    method: 'DELETE',
    path: '/api/v1/files/:capability',
    auth: 'token',
    summary:
      "remove a file: its deals end (unspent escrow back; the nodes delete the pieces after their grace period) and it leaves the user's list",
  },
  nodes: { method: 'GET', path: '/api/v1/nodes', auth: 'token', summary: 'nodes with heartbeat and chain state' },
  openSession: {
    method: 'POST',
    path: '/api/v1/session',
    auth: 'token',
    summary: 'sets the HttpOnly session cookie that opens download links (the token never goes in a URL)',
  },
  closeSession: { method: 'DELETE', path: '/api/v1/session', auth: 'none', summary: 'clears the session cookie' },
  deals: { method: 'GET', path: '/api/v1/deals', auth: 'token', summary: 'storage deals on chain' },
  wallet: { method: 'GET', path: '/api/v1/wallet', auth: 'token', summary: "the user's balances" },
  bank: { method: 'GET', path: '/api/v1/bank', auth: 'token', summary: 'minted rewards and payments per epoch' },
  quote: {
    method: 'GET',
    path: '/api/v1/quote',
    auth: 'token',
    summary: "an upload's price before paying: query size, k, n, duration, maxPrice; per epoch, total, nodes' offers",
  },
  events: { method: 'GET', path: '/api/v1/events', auth: 'token', summary: 'server-sent events (live updates)' },
} as const satisfies Record<string, RouteDefinition>

export type RouteName = keyof typeof ROUTES

/** JSON answer of each route (routes answering bytes or an event stream are absent). */
export interface RouteResponses {
  health: { ok: true }
  info: GatewayInfo
  upload: PutResult & { name?: string; type?: string; manifest: string }
  listFiles: { files: StoredFile[] }
  fileStatus: FileStatus & { name?: string; type?: string }
  tree: TreeListing
  forgetFile: { ok: true } & RemovedFile
  openSession: { ok: true }
  closeSession: { ok: true }
  nodes: { nodes: NodeInfo[] }
  deals: { deals: DealInfo[] }
  wallet: WalletInfo
  bank: BankInfo
  quote: QuoteInfo
}

/**
 * Fills a route's `:params` (URI-encoded).
 *
 * @example
 * ```ts
 * routePath('download', { capability: 'cairn:bafy...#key' }) // '/api/v1/files/cairn%3Abafy...%23key/content'
 * ```
 */
export function routePath(name: RouteName, params: Record<string, string> = {}): string {
  return ROUTES[name].path.replace(/:([a-zA-Z]+)/g, (_, key: string) => {
    const value = params[key]
    if (value === undefined) throw new TypeError(`route ${name} needs parameter ${key}`)
    return encodeURIComponent(value)
  })
}
