/**
 * Secrets of a gateway, kept in its data folder (mode 0600) and created on first use:
 * the bearer token of `/api/v1` and the S3 access key pair.
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { InvalidArgumentError, NotFoundError } from '../errors.ts'
import { writeFileDurable } from '../storage/index.ts'
import {
  API_TOKEN_FILE,
  DEFAULT_S3_PORT,
  DEFAULT_S3_REGION,
  GATEWAY_STATE_FILE,
  S3_CREDENTIALS_FILE,
} from './constants.ts'
import type { S3Credentials } from './interface.ts'

/** What a running gateway records in its data folder so that the CLI can find it. */
export interface GatewayState {
  url: string
  s3Endpoint?: string
  region: string
  pid: number
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/**
 * The gateway's bearer token (`<dataDir>/api-token`), created when missing.
 *
 * @example
 * ```ts
 * const token = await loadApiToken('.cairn-devnet/gateway')
 * await fetch(url, { headers: { authorization: `Bearer ${token}` } })
 * ```
 */
export async function loadApiToken(dataDir: string): Promise<string> {
  const path = join(dataDir, API_TOKEN_FILE)
  const existing = (await readOptional(path))?.trim()
  if (existing !== undefined && existing !== '') return existing
  const token = randomBytes(32).toString('base64url')
  await writeFileDurable(path, `${token}\n`)
  return token
}

/** The S3 key pair (`<dataDir>/s3-credentials.json`), created when missing. */
export async function loadS3Keys(dataDir: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const path = join(dataDir, S3_CREDENTIALS_FILE)
  const text = await readOptional(path)
  if (text !== undefined) {
    const parsed = JSON.parse(text) as { accessKeyId?: unknown; secretAccessKey?: unknown }
    if (typeof parsed.accessKeyId !== 'string' || typeof parsed.secretAccessKey !== 'string') {
      throw new InvalidArgumentError(`${path} is malformed: expected {"accessKeyId", "secretAccessKey"}`)
    }
    return { accessKeyId: parsed.accessKeyId, secretAccessKey: parsed.secretAccessKey }
  }
  const keys = {
    accessKeyId: `CAIRN${randomBytes(10).toString('hex').toUpperCase()}`.slice(0, 20),
    secretAccessKey: randomBytes(30).toString('base64url'),
  }
  await writeFileDurable(path, `${JSON.stringify(keys, null, 2)}\n`)
  return keys
}

/** The state a running gateway wrote, or undefined when none ever ran in `dataDir`. */
export async function readGatewayState(dataDir: string): Promise<GatewayState | undefined> {
  const text = await readOptional(join(dataDir, GATEWAY_STATE_FILE))
  return text === undefined ? undefined : (JSON.parse(text) as GatewayState)
}

export async function writeGatewayState(dataDir: string, state: GatewayState): Promise<void> {
  await writeFileDurable(join(dataDir, GATEWAY_STATE_FILE), `${JSON.stringify(state, null, 2)}\n`)
}

/**
 * What `cairn s3 credentials --json` prints: the endpoint of the gateway that runs (or last ran) on `dataDir`,
 * and its keys. Keys are created when missing; the endpoint falls back to the default devnet port.
 *
 * @example
 * ```ts
 * const { endpoint, accessKeyId, secretAccessKey, region } = await s3Credentials('.cairn-devnet/gateway')
 * const s3 = new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } })
 * ```
 */
export async function s3Credentials(dataDir: string): Promise<S3Credentials> {
  const keys = await loadS3Keys(dataDir)
  const state = await readGatewayState(dataDir)
  if (state !== undefined && state.s3Endpoint === undefined) {
    throw new NotFoundError(`the gateway on ${dataDir} runs without S3; start it with an S3 port`)
  }
  return {
    endpoint: state?.s3Endpoint ?? `http://127.0.0.1:${DEFAULT_S3_PORT}`,
    accessKeyId: keys.accessKeyId,
    secretAccessKey: keys.secretAccessKey,
    region: state?.region ?? DEFAULT_S3_REGION,
  }
}
