/**
 * Yamux with one guard: @libp2p/yamux 8.0.3 sends a new stream's opening window update from a microtask, and when the
 * connection's write side closed in between (the remote reset it, before the muxer's `close` event ran) the muxer's
 * send throws outside any handler, which ends the process. A frame sent after the connection closed for writing is
 * dropped instead (the muxer closes its streams once the close event runs). Any other send error is thrown as before.
 * Its streams send window updates at half a window (yamux-window-policy.ts).
 */
import { yamux } from '@libp2p/yamux'
import { applyYamuxWindowPolicy } from './yamux-window-policy.ts'

type YamuxInit = Parameters<typeof yamux>[0]

/** `yamux(init)` whose muxers drop frames sent after their connection closed for writing. */
export function guardedYamux(init?: YamuxInit): ReturnType<typeof yamux> {
  applyYamuxWindowPolicy()
  const create = yamux(init)
  return () => {
    const factory = create()
    const createStreamMuxer = factory.createStreamMuxer.bind(factory)
    factory.createStreamMuxer = (maConn) => {
      const muxer = createStreamMuxer(maConn) as ReturnType<typeof createStreamMuxer> & {
        send(data: unknown): boolean
      }
      const send = muxer.send.bind(muxer)
      muxer.send = (data) => {
        try {
          return send(data)
        } catch (error) {
          if ((error as Error).name !== 'StreamStateError') throw error
          return true
        }
      }
      return muxer
    }
    return factory
  }
}
