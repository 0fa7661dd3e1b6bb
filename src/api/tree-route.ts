/**
 * `GET /api/v1/files/:capability/*`: a folder stored with `cairn put -r`, browsed through the gateway. A folder path
 * (or none: the root) answers its listing as JSON; a file path answers the file's bytes (with Range), read from the
 * pack by a range read so only its segments are fetched. A top-level entry named `content` is at `//content` (the
 * plain `/content` is the pack's own bytes). Indexes are kept in a small cache by manifest CID.
 */
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { InvalidArgumentError } from '../errors.ts'
import {
  ByteReader,
  checkTreePath,
  findTreeEntry,
  parseCapability,
  readTreeHead,
  type TreeEntry,
  type TreeIndex,
  treeListing,
} from '../storage/index.ts'
import type { ApiAuth } from './api-auth.ts'
import { contentRange, parseRange } from './byte-range.ts'
import { downloadHeaders } from './download-headers.ts'
import type { FileService } from './interface.ts'
import type { TreeListing } from './tree-listing.ts'

/** Tree indexes kept in memory, by manifest CID. */
const TREE_CACHE_SIZE = 16

export interface TreeRouteInit {
  auth: ApiAuth
  publicReads: boolean
}

interface OpenedTree {
  index: TreeIndex
  dataOffset: number
}

function listingOf(path: string, entries: TreeEntry[]): TreeListing {
  return {
    path,
    entries: entries.map((e) => ({
      name: e.path.slice(e.path.lastIndexOf('/') + 1),
      path: e.path,
      type: e.type,
      mode: e.mode,
      mtime: e.mtime * 1000 + Math.floor(e.mtimeNs / 1e6),
      ...(e.type === 'file' ? { size: e.size } : {}),
    })),
  }
}

/**
 * Registers the tree route on `app`.
 *
 * @example
 * ```ts
 * registerTreeRoute(app, { files }, { auth, publicReads: false })
 * ```
 */
export function registerTreeRoute(app: FastifyInstance, components: { files: FileService }, init: TreeRouteInit): void {
  const { files } = components
  const trees = new Map<string, OpenedTree>()

  async function openTree(capability: string, manifest: string, signal: AbortSignal): Promise<OpenedTree> {
    const cached = trees.get(manifest)
    if (cached !== undefined) return cached
    const { stream } = await files.get(capability, {}, { signal })
    const reader = new ByteReader(stream)
    let head: OpenedTree
    try {
      head = await readTreeHead(reader)
    } finally {
      await reader.close()
    }
    trees.set(manifest, head)
    if (trees.size > TREE_CACHE_SIZE) trees.delete(trees.keys().next().value!)
    return head
  }

  app.route({
    method: 'GET',
    url: '/api/v1/files/:capability/*',
    preHandler: async (request: FastifyRequest) => {
      if (!init.publicReads) init.auth.check(request, { allowCookie: true })
    },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const params = request.params as { capability: string; '*': string }
      const parsed = parseCapability(params.capability)
      if (parsed.key === undefined) {
        throw new InvalidArgumentError('reading a folder needs the full capability, cairn:<cid>#<key>')
      }
      const path = params['*'].replace(/^\/+|\/+$/g, '')
      try {
        if (path !== '') checkTreePath(path, 'the path')
      } catch (cause) {
        throw new InvalidArgumentError((cause as Error).message.replace(/^invalid tree index: /, ''), { cause })
      }
      const abort = new AbortController()
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) abort.abort(new Error('client went away'))
      })
      const tree = await openTree(params.capability, parsed.manifestCid.toString(), abort.signal)
      const entry = findTreeEntry(tree.index, path)
      if (entry === undefined || entry.type === 'dir') {
        return reply.header('cache-control', 'private, no-store').send(listingOf(path, treeListing(tree.index, path)))
      }
      reply.header('accept-ranges', 'bytes')
      reply.header('cache-control', 'private, max-age=31536000, immutable')
      const query = request.query as Record<string, string | undefined>
      const name = entry.path.slice(entry.path.lastIndexOf('/') + 1)
      reply.headers(
        downloadHeaders({ type: 'application/octet-stream', name, attachment: query.download !== undefined }),
      )
      const range = parseRange(request.headers.range, entry.size)
      if (range.kind === 'unsatisfiable') {
        return reply
          .code(416)
          .header('content-range', `bytes */${entry.size}`)
          .send({
            error: {
              code: 'ERR_RANGE_NOT_SATISFIABLE',
              message: `the range is outside the file (${entry.size} bytes)`,
            },
          })
      }
      const offset = range.kind === 'partial' ? range.offset : 0
      const length = range.kind === 'partial' ? range.length : entry.size
      if (range.kind === 'partial') reply.code(206).header('content-range', contentRange(offset, length, entry.size))
      reply.header('content-length', String(length))
      if (length === 0) return reply.send()
      const { stream } = await files.get(
        params.capability,
        { offset: tree.dataOffset + entry.offset + offset, length },
        { signal: abort.signal },
      )
      return reply.send(Readable.from(stream))
    },
  })
}
