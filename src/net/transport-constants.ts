/**
 * Bounds of the transports browsers dial (WebSockets, WebRTC-direct), shared by a node's listeners
 * (node-transports.ts) and a page's host (browser-host.ts). Documented in docs/protocol.md, Transports.
 */

/** A WebSocket upgrade request (its headers) must arrive within this many ms, or the socket is closed. */
export const WEBSOCKET_HEADERS_TIMEOUT_MS = 10_000
/** Largest WebSocket message accepted (libp2p peers send noise frames of at most 64 KiB each). */
export const WEBSOCKET_MAX_MESSAGE_BYTES = 1024 * 1024
/**
 * A WebSocket whose send buffer passed its 4 MiB bound resumes once the buffer drained, checked this often (the
 * @libp2p/websockets default, 500 ms, caps a stream at about 8 MB/s).
 */
export const WEBSOCKET_BUFFER_POLL_MS = 5
/** WebRTC-direct peer connections (half-open or established) a node holds at once. */
export const WEBRTC_DIRECT_MAX_PEER_CONNECTIONS = 128
/** WebRTC-direct peer connections one remote IP may hold at once (a household or an office behind one NAT). */
export const WEBRTC_DIRECT_MAX_PER_HOST = 16
/**
 * WebRTC signalled over a relay (`/p2p-circuit/webrtc`, what browsers dial to reach a node behind NAT): every
 * signalling stream makes the node build an RTCPeerConnection and gather ICE candidates before the dialer proved
 * anything but a peer ID (free to make), so at most this many signalling exchanges run at once...
 */
export const WEBRTC_MAX_SIGNALLING = 16
/** ...at most this many of them for one remote peer (a page needs one)... */
export const WEBRTC_MAX_SIGNALLING_PER_PEER = 2
/** ...and no new one starts while the node holds this many WebRTC connections (signalled or being signalled). */
export const WEBRTC_MAX_PEER_CONNECTIONS = 128
/**
 * A page's dial of `<relay>/p2p-circuit/webrtc` (relay connection, circuit, SDP and ICE over it, DTLS, SCTP) must end
 * within this many ms; libp2p's default per-address dial timeout, 6 s, cut some at a load of 19 on 2 cores.
 */
export const WEBRTC_DIAL_TIMEOUT_MS = 20_000
