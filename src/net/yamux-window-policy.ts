/**
 * Yamux window updates at half a window, as go-yamux and the yamux spec's reference implementation send them.
 *
 * @libp2p/yamux 8.0.3 answers every data frame with a window update frame (`YamuxStream.sendWindowUpdate` runs after
 * each frame and sends whenever any byte of the receive window was used). A bulk transfer of 64 KiB frames then
 * writes one update per frame, and a small message (a heartbeat, a gossip frame) costs two socket writes instead of
 * one, on both sides. Here an established stream sends its update only once at least half of its receive window is
 * used; the window's auto-tuning (double it when half a window arrived within 4 round trips) then runs per update, as
 * in go-yamux. Frames with flags (SYN, ACK) and a paused stream keep the library's behaviour. The sender never waits
 * for it: it still has at least half a window it may send into, and the frame that uses it triggers the update.
 */
import { StreamState, YamuxStream } from '@libp2p/yamux/stream'

/** The private fields of `YamuxStream` the policy reads. */
interface WindowFields {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
  sendWindowUpdate(): void
}

let applied = false

/** Makes every yamux stream of this process send window updates at half a window (idempotent). */
export function applyYamuxWindowPolicy(): void {
  if (applied) return
  applied = true
  const prototype = YamuxStream.prototype as unknown as WindowFields
  const sendWindowUpdate = prototype.sendWindowUpdate
  prototype.sendWindowUpdate = function (this: WindowFields) {
    if (this.state === StreamState.Established && this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2) {
      return
    }
    sendWindowUpdate.call(this)
  }
}
