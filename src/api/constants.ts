/** Named defaults of the API layer, applied as `init.x ?? DEFAULT_X`. */

/** Port of the devnet's gateway and dashboard (`npm start` prints http://127.0.0.1:7070/). */
export const DEFAULT_GATEWAY_PORT = 7070
/** Port of the devnet's S3-compatible endpoint. */
export const DEFAULT_S3_PORT = 7071
export const DEFAULT_HOST = '127.0.0.1'
export const DEFAULT_S3_REGION = 'us-east-1'
export const API_PREFIX = '/api/v1'

/** Largest upload: 64 GiB. */
export const DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 ** 3
/** Requests per client address per window. */
export const DEFAULT_RATE_LIMIT_MAX = 3000
export const DEFAULT_RATE_LIMIT_WINDOW_MS = 60_000
export const DEFAULT_NODE_POLL_MS = 1000
/** The placement watcher follows the slots of this many most recent files, this often, to report repairs. */
export const DEFAULT_WATCH_FILES = 10
export const DEFAULT_WATCH_INTERVAL_MS = 5000
/** SSE comment sent this often to keep proxies from closing an idle stream. */
export const SSE_KEEPALIVE_MS = 15_000

/** Cookie the dashboard gets from `POST /api/v1/session` to open download links (an HMAC of the token). */
export const SESSION_COOKIE = 'cairn-session'
/** The session cookie is sent with file routes only (downloads are the only ones that accept it). */
export const SESSION_COOKIE_PATH = '/api/v1/files'
/**
 * Content types a download may show inline (media and plain text, which run no script); any other type is sent as an
 * attachment. Every download also carries `nosniff` and a sandboxing Content-Security-Policy.
 */
export const INLINE_CONTENT_TYPES: readonly string[] = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'text/plain',
]
/** Media families shown inline as well (no script runs in them). */
export const INLINE_CONTENT_FAMILIES: readonly string[] = ['audio/', 'video/']
/** Sent with every download: the bytes get no origin (`sandbox`), load nothing and run nothing. */
export const DOWNLOAD_CONTENT_SECURITY_POLICY =
  "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'"

/** Files in the gateway's data folder. */
export const API_TOKEN_FILE = 'api-token'
export const S3_CREDENTIALS_FILE = 's3-credentials.json'
export const GATEWAY_STATE_FILE = 'gateway.json'
export const INDEX_DATABASE_FILE = 'index.sqlite'
/** Folder of the gateway's data dir where S3 multipart parts wait for CompleteMultipartUpload. */
export const MULTIPART_STAGING_FOLDER = 'multipart'
/** Read size when Complete streams the staged parts into one Cairn file. */
export const DEFAULT_STAGING_READ_BYTES = 1024 * 1024

/** S3: a multipart upload may have parts 1..10000, each (except the last) at least 5 MiB as AWS requires. */
export const S3_MAX_PARTS = 10_000
export const S3_MIN_PART_BYTES = 5 * 1024 * 1024
export const S3_MAX_KEYS = 1000
/** Clock skew accepted on signed S3 requests. */
export const S3_MAX_CLOCK_SKEW_MS = 15 * 60_000
/** Presigned URLs may live at most 7 days, as in AWS. */
export const S3_MAX_PRESIGN_SECONDS = 7 * 24 * 3600
