/** Finding a file: its manifest, and which peers hold each of its slots and how fast they answer. */
import type { CID } from 'multiformats/cid'
import { AbortedError, UnreachableError } from '../errors.ts'
import type { AbortOptions, PeerView } from '../node/index.ts'
import { decodeManifest, type Manifest, manifestPieceCid } from '../storage/index.ts'
import { type ClientContext, probeSignal } from './client-context.ts'
import { MANIFEST_PROBE_WAVE } from './constants.ts'
import type { FileRecord } from './interface.ts'

/** A file found on the network. */
export interface LocatedFile {
  manifest: Manifest
  manifestCid: CID
  /** Peers that confirmed holding each slot's first piece, fastest first. */
  holders: string[][]
  /** Round-trip time of each peer's has-pieces answer. */
  latency: Map<string, number>
  record: FileRecord | undefined
  views: PeerView[]
}

/**
 * Finds the manifest and which peers hold each slot: recorded holders, preferred peers and live nodes (the DHT's
 * providers of the manifest when none is known).
 *
 * @example
 * ```ts
 * const { manifest, holders } = await locateFile(context, parseCapability(capability).manifestCid, [], options)
 * ```
 */
export async function locateFile(
  context: ClientContext,
  manifestCid: CID,
  prefer: string[],
  options: AbortOptions,
): Promise<LocatedFile> {
  const { network } = context
  const record = await context.records.find(manifestCid.toString())
  const views = await context.nodes(options)
  const candidates = [
    ...new Set([
      ...prefer,
      ...(record?.slots.map((s) => s.peerId) ?? []),
      ...views.filter((v) => v.state !== 'dead').map((v) => v.peerId),
    ]),
  ].filter((p) => p !== network.peerId)
  const providers = network.findProviders
  if (candidates.length === 0 && providers !== undefined) {
    try {
      for await (const peer of providers.call(network, manifestPieceCid(manifestCid), probeSignal(context, options))) {
        candidates.push(peer)
      }
    } catch {}
  }
  if (candidates.length === 0) {
    throw new UnreachableError('no storage node is known: start a devnet or pass --devnet DIR / --bootstrap ADDR')
  }
  const manifest = await fetchManifest(context, manifestCid, candidates, options)
  const firstPieces = manifest.segments[0]!.pieces
  const latency = new Map<string, number>()
  const holders: string[][] = firstPieces.map(() => [])
  await Promise.all(
    candidates.map(async (peer) => {
      const started = performance.now()
      try {
        const answer = await network.hasPieces(peer, firstPieces, probeSignal(context, options))
        latency.set(peer, performance.now() - started)
        answer.forEach((has, slot) => {
          if (has) holders[slot]!.push(peer)
        })
      } catch {}
    }),
  )
  if (options.signal?.aborted === true) throw new AbortedError('the operation was cancelled')
  for (const list of holders) list.sort((a, b) => (latency.get(a) ?? 1e9) - (latency.get(b) ?? 1e9))
  return { manifest, manifestCid, holders, latency, record, views }
}

/**
 * Fetches and decodes the manifest from the first of `candidates` that holds it. Every candidate is asked at once
 * whether it holds the manifest, so dead or slow nodes do not use up the time of the live ones; probes that failed
 * are asked once more with a longer wait (a loaded node is slow, not gone). The manifest is then fetched from one
 * holder at a time, fastest answer first.
 */
async function fetchManifest(
  context: ClientContext,
  manifestCid: CID,
  candidates: string[],
  options: AbortOptions,
): Promise<Manifest> {
  const { network } = context
  const cid = manifestPieceCid(manifestCid)
  let lastError: unknown
  const probe = async (peers: string[], timeoutMs: number) => {
    const holders: string[] = []
    const failed: string[] = []
    await Promise.all(
      peers.map(async (peer) => {
        try {
          const has = await network.hasPieces(peer, [cid], probeSignal(context, options, timeoutMs))
          if (has[0] === true) holders.push(peer)
        } catch (err) {
          lastError = err
          failed.push(peer)
        }
      }),
    )
    if (options.signal?.aborted === true) throw new AbortedError('the operation was cancelled')
    return { holders, failed }
  }
  let holders: string[] = []
  let failed: string[] = []
  let asked = 0
  // In waves (recorded holders come first), so a large network is not asked all at once.
  for (let i = 0; i < candidates.length && holders.length === 0; i += MANIFEST_PROBE_WAVE) {
    const peers = candidates.slice(i, i + MANIFEST_PROBE_WAVE)
    const wave = await probe(peers, context.probeTimeoutMs)
    asked += peers.length
    holders = wave.holders
    failed.push(...wave.failed)
  }
  if (holders.length === 0 && failed.length > 0) {
    const retried = failed.slice(0, MANIFEST_PROBE_WAVE)
    const again = await probe(retried, 4 * context.probeTimeoutMs)
    holders = again.holders
    failed = [...again.failed, ...failed.slice(MANIFEST_PROBE_WAVE)]
  }
  for (const peer of holders) {
    try {
      const bytes = await network.fetchPiece(peer, cid, {
        signal: AbortSignal.any([
          AbortSignal.timeout(context.pieceTimeoutMs),
          ...(options.signal === undefined ? [] : [options.signal]),
        ]),
      })
      return decodeManifest(bytes, manifestCid)
    } catch (err) {
      if (options.signal?.aborted === true) throw new AbortedError('the operation was cancelled')
      lastError = err
    }
  }
  // Count only the nodes that answered: recorded holders that are down and peers that never reply are not "reachable".
  const answered = asked - failed.length
  const silent = failed.length === 0 ? '' : ` (${failed.length} more did not answer)`
  throw new UnreachableError(
    holders.length > 0
      ? `the manifest ${manifestCid} could not be fetched from any of the ${holders.length} nodes that hold it: try again`
      : `none of the ${answered} storage node${answered === 1 ? '' : 's'} that answered holds the manifest ${manifestCid}${silent}: the file is unknown here or all its holders are down`,
    { cause: lastError },
  )
}
