/**
 * Scenario 6, floods and slow senders: attacker libp2p hosts in this process (TCP + Noise + Yamux to 127.0.0.1, as
 * any stranger would connect) open thousands of `/cairn/piece/1.0.0` streams against one devnet node: idle streams,
 * slow-trickle senders that announce a full piece frame and send one byte every half second, senders that push 1 MiB
 * of a 16 MiB frame and stall, and junk. While the flood lasts, the user's CLI stores files on every node (the
 * target included) and reads them back preferring the target. Goals: at least 99% of those honest requests succeed,
 * the target's resident memory stays under `RSS_CAP_MB`, and it is still up at the end.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Libp2p, Stream } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { encodeFrameHeader } from '../../src/net/frame-codec.ts'
import { MAX_PIECE_FRAME_SIZE, PIECE_PROTOCOL } from '../../src/net/index.ts'
import { processExists } from '../e2e/devnet-fixture.ts'
import { startChaosDevnet } from './chaos-devnet.ts'
import { saysWhy } from './mass-failure.ts'
import type { ChaosContext, Scenario } from './scenario.ts'

/**
 * The target's resident memory must stay below this: an idle node (~150 MB) plus the piece protocol's whole
 * bytes-in-flight budget (`DEFAULT_MAX_BYTES_IN_FLIGHT_TOTAL`, 256 MiB) plus room for the honest puts it serves.
 */
export const RSS_CAP_MB = 640
const MiB = 1024 * 1024

type Shape = 'idle' | 'trickle' | 'stall' | 'junk'
const SHAPES: Shape[] = ['idle', 'trickle', 'stall', 'junk']

/** Resident memory of a process in MB, from /proc (undefined once it is gone). */
async function rssMb(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined)
  const kb = status?.match(/^VmRSS:\s+(\d+) kB$/m)?.[1]
  return kb === undefined ? undefined : (Number(kb) * 1024) / 1e6
}

/** One attack stream: opened, then fed by its shape until `signal`; says whether the node ended it first. */
async function attackStream(
  from: Libp2p,
  target: string,
  shape: Shape,
  signal: AbortSignal,
): Promise<'held' | 'ended-by-node'> {
  const stream: Stream = await from.dialProtocol(peerIdFromString(target), PIECE_PROTOCOL, { signal })
  const send = (bytes: Uint8Array) => {
    try {
      stream.send(bytes)
    } catch {}
  }
  if (shape === 'trickle') send(encodeFrameHeader(MAX_PIECE_FRAME_SIZE))
  if (shape === 'stall') {
    send(encodeFrameHeader(16 * MiB))
    for (let i = 0; i < 16; i++) send(new Uint8Array(64 * 1024).fill(i))
  }
  if (shape === 'junk') send(crypto.getRandomValues(new Uint8Array(4096)))
  const timer = shape === 'trickle' ? setInterval(() => send(new Uint8Array([1])), 500) : undefined
  const drain = (async () => {
    try {
      for await (const _ of stream) {
        // whatever the node answers (an error frame) is read and dropped
      }
    } catch {}
  })()
  const outcome = await new Promise<'held' | 'ended-by-node'>((resolve) => {
    if (signal.aborted) resolve('held')
    signal.addEventListener('abort', () => resolve('held'), { once: true })
    void drain.then(() => resolve('ended-by-node'))
  })
  clearInterval(timer)
  stream.abort(new Error('flood over'))
  await drain
  return outcome
}

export const floods: Scenario = {
  name: 'floods',
  number: 6,
  timeoutMs: { full: 15 * 60_000, quick: 5 * 60_000 },
  async run(context: ChaosContext) {
    const failures: string[] = []
    // CHAOS_FLOOD_ATTACKERS=0 runs the same honest work with no flood: the control for a failing run.
    const attackers = Number(process.env.CHAOS_FLOOD_ATTACKERS ?? (context.quick ? 8 : 20))
    const streamsPerAttacker = context.quick ? 125 : 250
    const honestRounds = context.quick ? 4 : 8
    const nodes = 4
    const devnet = await startChaosDevnet({ dir: join(context.workDir, 'devnet'), nodes, chain: false })
    const hosts: Libp2p[] = []
    const flood = new AbortController()
    const stopFlood = () => flood.abort()
    context.signal.addEventListener('abort', stopFlood, { once: true })
    const targetIndex = context.rng.int(0, nodes - 1)
    const target = devnet.nodes[targetIndex]!
    const details: Record<string, unknown> = { target: targetIndex, attackers, streams_attempted: 0 }
    let peak = 0
    let sampler: NodeJS.Timeout | undefined
    try {
      const idle = (await rssMb(target.pid)) ?? 0
      details.rss_idle_mb = Math.round(idle)
      sampler = setInterval(() => {
        void rssMb(target.pid).then((mb) => {
          if (mb !== undefined) peak = Math.max(peak, mb)
        })
      }, 200)
      // Connect the attackers 4 a second: libp2p refuses more than 5 new inbound connections a second from one IP.
      for (let i = 0; i < attackers; i++) {
        // A bare stranger: TCP + Noise + Yamux, no Cairn service (it announces nothing, serves nothing).
        const host = await createLibp2p({
          transports: [tcp()],
          connectionEncrypters: [noise()],
          streamMuxers: [yamux()],
        })
        hosts.push(host)
        await host.dial(multiaddr(target.multiaddrs[0]!), { signal: context.signal }).catch(() => {})
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
      const outcomes = { held: 0, 'ended-by-node': 0, refused: 0 }
      const streams: Promise<void>[] = []
      for (const host of hosts) {
        for (let s = 0; s < streamsPerAttacker; s++) {
          const shape = SHAPES[s % SHAPES.length]!
          streams.push(
            attackStream(host, target.peerId, shape, flood.signal).then(
              (outcome) => void outcomes[outcome]++,
              () => void outcomes.refused++,
            ),
          )
        }
      }
      details.streams_attempted = streams.length
      context.log(`flooding node ${targetIndex} with ${streams.length} streams from ${attackers} peers`)
      // The honest user, during the flood: puts on every node (the target among them), reads preferring the target.
      let attempts = 0
      let succeeded = 0
      for (let round = 0; round < honestRounds && !context.signal.aborted; round++) {
        const bytes = context.rng.bytes(200_000 + round * 10_000)
        attempts++
        const put = await devnet.put(`honest-${round}`, bytes, 1, nodes)
        if (!put.ok) {
          failures.push(`an honest (1,${nodes}) put during the flood failed: ${put.error}`)
          if (!saysWhy(put.error)) failures.push('... and its error was not a clear message')
          continue
        }
        succeeded++
        attempts++
        const out = join(devnet.dir, 'inputs', `read-${round}`)
        const read = await devnet.run(['get', put.capability!, '-o', out, '--prefer', target.peerId])
        const same = read.code === 0 && (await readFile(out).catch(() => undefined))?.equals(bytes) === true
        if (same) succeeded++
        else failures.push(`an honest read preferring the flooded node failed: ${read.stderr.trim().slice(-300)}`)
      }
      details.honest_attempts = attempts
      details.honest_succeeded = succeeded
      flood.abort()
      await Promise.all(streams)
      // held: still open when the flood ended; ended-by-node: the node reset or closed it; refused: never opened.
      details.streams_held = outcomes.held
      details.streams_ended_by_node = outcomes['ended-by-node']
      details.streams_refused = outcomes.refused
      details.rss_peak_mb = Math.round(peak)
      details.rss_cap_mb = RSS_CAP_MB
      if (peak > RSS_CAP_MB)
        failures.push(`the flooded node's memory reached ${Math.round(peak)} MB (cap ${RSS_CAP_MB})`)
      if (!processExists(target.pid)) failures.push('the flooded node exited during the flood')
      const ratio = attempts === 0 ? 0 : succeeded / attempts
      if (ratio < 0.99) failures.push(`only ${succeeded} of ${attempts} honest requests succeeded during the flood`)
      return { ok: failures.length === 0, runs: 1, failures, honest_ok_ratio: ratio, details }
    } finally {
      clearInterval(sampler)
      context.signal.removeEventListener('abort', stopFlood)
      flood.abort()
      await Promise.allSettled(hosts.map(async (h) => h.stop()))
      await devnet.stop()
    }
  },
}
