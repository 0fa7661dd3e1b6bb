import type { Libp2p, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'

/** Protocol of the raw stream benchmark: the dialer sends bytes, the sink counts them and answers the count. */
export const BENCH_SINK_PROTOCOL = '/cairn/bench-sink/1.0.0'

/**
 * Registers the benchmark sink on a node's libp2p host (only with the node's test switch `faults.benchSink`,
 * `CAIRN_BENCH_SINK=1`, which `npm run bench` sets): the baseline that piece transfers are compared with, over the
 * same transport, encryption and muxer.
 */
export async function registerBenchSink(libp2p: Libp2p): Promise<void> {
  await libp2p.handle(
    BENCH_SINK_PROTOCOL,
    async (stream: Stream) => {
      let total = 0
      try {
        for await (const chunk of stream) total += chunk.byteLength
        const answer = new Uint8Array(8)
        new DataView(answer.buffer).setBigUint64(0, BigInt(total))
        stream.send(answer)
        await stream.close()
      } catch (err) {
        stream.abort(err instanceof Error ? err : new Error(String(err)))
      }
    },
    { maxInboundStreams: 4 },
  )
}

/**
 * Sends `size` bytes to `peer`'s benchmark sink and resolves with the seconds until the sink confirmed receipt.
 *
 * @example
 * ```ts
 * const seconds = await sendToBenchSink(network.libp2p, peerId, 1 << 30)
 * ```
 */
export async function sendToBenchSink(
  libp2p: Libp2p,
  peer: string,
  size: number,
  chunkSize = 1 << 20,
): Promise<number> {
  const stream = await libp2p.dialProtocol(peerIdFromString(peer), BENCH_SINK_PROTOCOL)
  const chunk = new Uint8Array(chunkSize).map((_, i) => (i * 31) & 0xff)
  const started = performance.now()
  let sent = 0
  while (sent < size) {
    const part = size - sent >= chunk.byteLength ? chunk : chunk.subarray(0, size - sent)
    if (!stream.send(part)) await stream.onDrain()
    sent += part.byteLength
  }
  await stream.close()
  let answer = new Uint8Array(0)
  for await (const piece of stream) {
    const bytes = piece instanceof Uint8Array ? piece : piece.subarray()
    const joined = new Uint8Array(answer.byteLength + bytes.byteLength)
    joined.set(answer)
    joined.set(bytes, answer.byteLength)
    answer = joined
  }
  const seconds = (performance.now() - started) / 1000
  const received = answer.byteLength >= 8 ? Number(new DataView(answer.buffer).getBigUint64(0)) : -1
  if (received !== size) throw new Error(`the bench sink received ${received} of ${size} bytes`)
  return seconds
}
