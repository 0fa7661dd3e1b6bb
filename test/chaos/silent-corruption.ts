/**
 * Scenario 3, silent corruption: one bit is flipped in one piece on each of 5 holders of a (2,6) file, straight on
 * their disks. A user's read right after must return the file byte-equal; the nodes' scrub (or the read) must find
 * each flipped piece and rewrite it with the original bytes. The culprits' scores as the other nodes see them are
 * reported (a node that checks its pieces before serving never serves the flipped bytes, so it is never blamed).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { PeerView } from '../../src/net/index.ts'
import { decodeManifest, manifestPieceCid, parseCapability, slotPieces } from '../../src/storage/index.ts'
import { seconds, startChaosDevnet } from './chaos-devnet.ts'
import { FAST_REPAIR_ENV } from './mass-failure.ts'
import type { ChaosContext, Scenario } from './scenario.ts'

const CORRUPTED_NODES = 5

/** The path of the piece `cid` under a node's data dir, if the node holds it. */
async function piecePath(dataDir: string, cid: string): Promise<string | undefined> {
  const entries = await readdir(join(dataDir, 'pieces'), { recursive: true })
  const hit = entries.find((e) => e.endsWith(cid) && !e.includes('corrupt'))
  return hit === undefined ? undefined : join(dataDir, 'pieces', hit)
}

export const silentCorruption: Scenario = {
  name: 'silent-corruption',
  number: 3,
  timeoutMs: { full: 15 * 60_000, quick: 120_000 },
  async run(context: ChaosContext) {
    const failures: string[] = []
    const devnet = await startChaosDevnet({
      dir: join(context.workDir, 'devnet'),
      nodes: 7,
      chain: !context.quick,
      env: context.quick ? FAST_REPAIR_ENV : {},
    })
    const flipped: Array<{ node: number; peerId: string; path: string; original: Buffer }> = []
    let healSeconds: number | null = null
    let readOk = false
    const scores: Record<string, Array<number | null>> = {}
    let lost = 0
    try {
      const bytes = context.rng.bytes(context.rng.int(600_000, 1_200_000))
      const put = await devnet.put('corrupt-me', bytes, 2, 6, ['--segment-size', '128KiB'])
      if (!put.ok) throw new Error(`put failed before any fault: ${put.error}`)
      const { manifestCid } = parseCapability(put.capability!)
      const status = await devnet.status(put.capability!)
      if (status === undefined) throw new Error('cairn status failed before any fault')
      const holders = context.rng.pick(status.slots, CORRUPTED_NODES)
      for (const slot of holders) {
        const node = devnet.nodes.findIndex((n) => n.peerId === slot.peerId)
        const { dataDir, peerId } = devnet.nodes[node]!
        const manifestPath = await piecePath(dataDir, manifestPieceCid(manifestCid).toString())
        const manifest = decodeManifest(await readFile(manifestPath!), manifestCid)
        const pieces = slotPieces(manifest, slot.index)
        const cid = context.rng.pick(pieces, 1)[0]!.toString()
        const path = await piecePath(dataDir, cid)
        if (path === undefined) throw new Error(`node ${node} does not hold piece ${cid} of its slot ${slot.index}`)
        const original = await readFile(path)
        const bad = Buffer.from(original)
        const bit = context.rng.int(0, bad.length * 8 - 1)
        bad[bit >> 3] = bad[bit >> 3]! ^ (1 << (bit & 7))
        await writeFile(path, bad)
        flipped.push({ node, peerId, path, original })
      }
      const flippedAt = Date.now()
      context.log(`flipped one bit in a piece on nodes ${flipped.map((f) => f.node).join(', ')}`)
      const got = await devnet.get(put.capability!)
      readOk = got.bytes?.equals(bytes) === true
      if (!readOk) failures.push(`a read after the bit flips failed or differed: ${got.error ?? 'different bytes'}`)
      const deadline = flippedAt + (context.quick ? 60_000 : 300_000)
      const healed = new Set<string>()
      while (healed.size < flipped.length && Date.now() < deadline && !context.signal.aborted) {
        for (const f of flipped) {
          const now = await readFile(f.path).catch(() => undefined)
          if (now?.equals(f.original) === true) healed.add(f.path)
        }
        if (healed.size < flipped.length) await sleep(500)
      }
      if (healed.size === flipped.length) healSeconds = seconds(Date.now() - flippedAt)
      else
        failures.push(
          `${flipped.length - healed.size} of ${flipped.length} flipped pieces not rewritten within ${seconds(deadline - flippedAt)} s`,
        )
      // The culprits' scores as each other node sees them (0 = clean).
      for (const f of flipped) {
        scores[f.peerId.slice(-8)] = await Promise.all(
          devnet.nodes
            .filter((n) => n.peerId !== f.peerId)
            .map(async (n) => {
              const views = (await fetch(`${n.api}/peers`)
                .then((r) => r.json())
                .catch(() => [])) as PeerView[]
              return views.find((v) => v.peerId === f.peerId)?.score ?? null
            }),
        )
      }
      const after = await devnet.get(put.capability!)
      if (after.bytes?.equals(bytes) !== true) {
        lost++
        failures.push(`the file read back wrong after the heal: ${after.error ?? 'different bytes'}`)
      }
    } finally {
      await devnet.stop()
    }
    return {
      ok: failures.length === 0,
      runs: 1,
      failures,
      acknowledged_files: 1,
      lost_files: lost,
      details: {
        corrupted_nodes: flipped.length,
        read_right_after_ok: readOk,
        all_rewritten_s: healSeconds,
        culprit_scores_seen_by_others: scores,
        chain: !context.quick,
      },
    }
  },
}
