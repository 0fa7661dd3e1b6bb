/**
 * Heartbeats: every interval the node signs one heartbeat, publishes it on the presence topic (storage nodes only)
 * and exchanges it directly with each watched peer over `/cairn/heartbeat/1.0.0`, on one long-lived stream per peer
 * (heartbeat-link.ts; the peer answers each frame with its own latest heartbeat). Every verified heartbeat feeds the
 * phi-accrual view in PeerHealth.
 */

import { randomBytes } from 'node:crypto'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { Connection, PrivateKey, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  HEARTBEAT_PROTOCOL,
  MAX_HEARTBEAT_INTERVAL_MS,
  MAX_HEARTBEAT_SIZE,
  MIN_HEARTBEAT_INTERVAL_MS,
  PRESENCE_TOPIC,
} from './constants.ts'
import { encodeFrame, FrameReader, protocolError } from './frame-codec.ts'
import { HeartbeatLink } from './heartbeat-link.ts'
import { BOOT_ID_BYTES, decodeHeartbeat, encodeHeartbeat, type Heartbeat } from './heartbeat-message.ts'
import type { CairnLibp2p } from './libp2p-host.ts'
import type { PeerHealth, StateChange } from './peer-health.ts'
import { createDeadline, writeAll } from './stream-io.ts'

export interface HeartbeatServiceInit {
  libp2p: CairnLibp2p
  privateKey: PrivateKey
  health: PeerHealth
  intervalMs: number
  controlTimeoutMs: number
  storage: boolean
  version: string
  freeSpace?: () => number
  onChange: (change: StateChange) => void
}

/**
 * @example
 * ```ts
 * const service = new HeartbeatService({ libp2p, privateKey, health, intervalMs: 1000, ... })
 * await service.start()
 * service.watch(['12D3Koo...'])
 * ```
 */
export class HeartbeatService {
  readonly #init: HeartbeatServiceInit
  readonly #peerId: string
  readonly #watched = new Set<string>()
  readonly #inFlight = new Set<string>()
  readonly #links = new Map<string, HeartbeatLink>()
  #latest: Uint8Array | undefined
  /** Drawn once per service: a restarted node is a new boot, whatever its clock says. */
  readonly #bootId = randomBytes(BOOT_ID_BYTES).toString('hex')
  #sequence = 0
  #tickTimer: ReturnType<typeof setInterval> | undefined
  #evaluateTimer: ReturnType<typeof setInterval> | undefined
  #stopped = true

  constructor(init: HeartbeatServiceInit) {
    this.#init = init
    this.#peerId = init.libp2p.peerId.toString()
  }

  async start(): Promise<void> {
    this.#stopped = false
    const { libp2p } = this.#init
    await libp2p.handle(HEARTBEAT_PROTOCOL, (stream, connection) => this.#serve(stream, connection), {
      maxInboundStreams: 4,
      maxOutboundStreams: 4,
      runOnLimitedConnection: true,
    })
    const pubsub = libp2p.services.pubsub
    pubsub.topicValidators.set(PRESENCE_TOPIC, async (_from, message) => this.#validatePresence(message))
    pubsub.subscribe(PRESENCE_TOPIC)
    await this.#refresh()
    this.#tickTimer = setInterval(() => void this.#tick(), this.#init.intervalMs)
    this.#evaluateTimer = setInterval(() => this.#evaluate(), Math.max(50, Math.floor(this.#init.intervalMs / 4)))
    void this.#tick()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearInterval(this.#tickTimer)
    clearInterval(this.#evaluateTimer)
    for (const link of this.#links.values()) link.close()
    this.#links.clear()
    const { libp2p } = this.#init
    try {
      libp2p.services.pubsub.unsubscribe(PRESENCE_TOPIC)
      libp2p.services.pubsub.topicValidators.delete(PRESENCE_TOPIC)
      await libp2p.unhandle(HEARTBEAT_PROTOCOL)
    } catch {
      // the host may already be stopping
    }
  }

  watch(peerIds: string[]): void {
    for (const peerId of peerIds) {
      peerIdFromString(peerId) // throws on a malformed ID
      if (peerId !== this.#peerId) this.#watched.add(peerId)
    }
    if (!this.#stopped) for (const peerId of peerIds) void this.#exchange(peerId)
  }

  unwatch(peerIds: string[]): void {
    for (const peerId of peerIds) {
      this.#watched.delete(peerId)
      this.#links.get(peerId)?.close()
      this.#links.delete(peerId)
    }
  }

  watched(): string[] {
    return [...this.#watched]
  }

  async #refresh(): Promise<Uint8Array> {
    this.#sequence++
    const heartbeat: Heartbeat = {
      peerId: this.#peerId,
      bootId: this.#bootId,
      sequence: this.#sequence,
      intervalMs: this.#init.intervalMs,
      storage: this.#init.storage,
      version: this.#init.version,
    }
    const free = safeFreeSpace(this.#init.freeSpace)
    if (free !== undefined) heartbeat.freeSpace = free
    this.#latest = await encodeHeartbeat(heartbeat, this.#init.privateKey)
    return this.#latest
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return
    const bytes = await this.#refresh()
    if (this.#init.storage) {
      this.#init.libp2p.services.pubsub.publish(PRESENCE_TOPIC, bytes).catch(() => {
        // no subscribers yet: presence is best effort, direct heartbeats cover watched peers
      })
    }
    for (const peerId of this.#watched) void this.#exchange(peerId)
  }

  #evaluate(): void {
    for (const change of this.#init.health.evaluate(performance.now())) this.#init.onChange(change)
  }

  #accept(heartbeat: Heartbeat): void {
    if (!heartbeat.storage || heartbeat.peerId === this.#peerId) return
    const change = this.#init.health.record(heartbeat, performance.now())
    if (change !== undefined) this.#init.onChange(change)
  }

  async #validatePresence(message: { type: string; data: Uint8Array; from?: { toString(): string } }) {
    try {
      const heartbeat = await decodeHeartbeat(message.data)
      if (message.type === 'signed' && message.from?.toString() !== heartbeat.peerId) {
        return TopicValidatorResult.Reject
      }
      this.#accept(heartbeat)
      return TopicValidatorResult.Accept
    } catch {
      return TopicValidatorResult.Reject
    }
  }

  /** Sends our heartbeat to `peerId` on its link (opened when missing); the link records the answer. */
  async #exchange(peerId: string): Promise<void> {
    if (this.#inFlight.has(peerId) || this.#stopped || this.#latest === undefined) return
    this.#inFlight.add(peerId)
    const timeoutMs = Math.min(this.#init.controlTimeoutMs, this.#init.intervalMs * 3)
    try {
      let link = this.#links.get(peerId)
      if (link === undefined || link.closed) {
        link = await HeartbeatLink.open(
          this.#init.libp2p,
          peerId,
          timeoutMs,
          (heartbeat) => this.#accept(heartbeat),
          () => {
            if (this.#links.get(peerId) === link) this.#links.delete(peerId)
          },
        )
        if (this.#stopped || !this.#watched.has(peerId)) {
          link.close()
          return
        }
        this.#links.set(peerId, link)
      }
      await link.beat(this.#latest, timeoutMs)
    } catch {
      // an unreachable peer simply stops producing heartbeats; the detector does the rest
      this.#links.delete(peerId)
    } finally {
      this.#inFlight.delete(peerId)
    }
  }

  /**
   * Serves one peer's heartbeat stream: answers each of its frames with our latest heartbeat until it closes. The
   * first frame must come within the control timeout, each next one within the peer's declared interval (clamped)
   * plus that timeout, and at most twice as many a second as the shortest interval allows: else the stream is aborted.
   */
  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const reader = new FrameReader(stream)
    const remote = connection.remotePeer.toString()
    let waitMs = this.#init.controlTimeoutMs
    let windowStart = Number.NEGATIVE_INFINITY
    let framesInWindow = 0
    try {
      for (;;) {
        const deadline = createDeadline(waitMs)
        const detach = deadline.guard(stream)
        try {
          const body = await reader.read({ maxLength: MAX_HEARTBEAT_SIZE })
          if (body === undefined) break
          // At most twice the fastest allowed rate, counted per second (a late beat followed by one on time is fine)
          const now = performance.now()
          if (now - windowStart >= 1000) {
            windowStart = now
            framesInWindow = 0
          }
          if (++framesInWindow > (2 * 1000) / MIN_HEARTBEAT_INTERVAL_MS) {
            throw protocolError('limit', 'heartbeats sent too fast')
          }
          const heartbeat = await decodeHeartbeat(body)
          if (heartbeat.peerId !== remote) {
            throw protocolError('malformed', 'heartbeat signed by another peer than the sender')
          }
          this.#accept(heartbeat)
          await writeAll(stream, encodeFrame(this.#latest ?? (await this.#refresh())), deadline.signal)
          const interval = Math.min(
            MAX_HEARTBEAT_INTERVAL_MS,
            Math.max(MIN_HEARTBEAT_INTERVAL_MS, heartbeat.intervalMs),
          )
          waitMs = this.#init.controlTimeoutMs + interval
        } finally {
          detach()
        }
      }
      await stream.close()
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)))
    }
  }
}

function safeFreeSpace(freeSpace: (() => number) | undefined): number | undefined {
  if (freeSpace === undefined) return undefined
  try {
    const value = freeSpace()
    return Number.isFinite(value) && value >= 0 ? value : undefined
  } catch {
    return undefined
  }
}
