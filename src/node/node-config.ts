import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { InvalidArgumentError } from '../errors.ts'
import { writeFileDurable } from '../storage/index.ts'
import { parseByteSize } from './byte-size.ts'
import { CONFIG_FILE, DEFAULT_API_PORT, DEFAULT_LISTEN, DEFAULT_QUOTA } from './constants.ts'
import type { NodeConfig } from './interface.ts'

/** The defaults of every node setting. */
export function defaultNodeConfig(): NodeConfig {
  return {
    listen: [...DEFAULT_LISTEN],
    bootstrap: [],
    quota: DEFAULT_QUOTA,
    apiPort: DEFAULT_API_PORT,
    mdns: true,
    devnet: false,
  }
}

/**
 * Reads `dataDir/config.json`, creating the folder (0700) and the file with the defaults (plus `overrides`) when
 * missing, and returns the effective settings: `overrides` (from flags) over the file over the defaults.
 *
 * @example
 * ```ts
 * const config = await loadNodeConfig('/var/lib/cairn', { quota: 10e9 })
 * ```
 */
export async function loadNodeConfig(dataDir: string, overrides: Partial<NodeConfig> = {}): Promise<NodeConfig> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const path = join(dataDir, CONFIG_FILE)
  let fromFile: Partial<NodeConfig> = {}
  let text: string | undefined
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  if (text === undefined) {
    const initial = { ...defaultNodeConfig(), ...withoutUndefined(overrides) }
    await writeFileDurable(path, `${JSON.stringify(serializeNodeConfig(initial), null, 2)}\n`)
  } else {
    fromFile = parseNodeConfig(text, path)
  }
  return { ...defaultNodeConfig(), ...fromFile, ...withoutUndefined(overrides) }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** The JSON form of a config: `quota` is a number of bytes or `"unlimited"`. */
export function serializeNodeConfig(config: NodeConfig): Record<string, unknown> {
  return {
    ...config,
    quota: Number.isFinite(config.quota) ? config.quota : 'unlimited',
  }
}

/** Parses and checks a config file's text; unknown keys are ignored, wrong types are an error naming the key. */
export function parseNodeConfig(text: string, path = CONFIG_FILE): Partial<NodeConfig> {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new InvalidArgumentError(`${path} is not valid JSON: fix or remove it`, { cause: err })
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidArgumentError(`${path} must hold a JSON object: fix or remove it`)
  }
  const obj = raw as Record<string, unknown>
  const out: Partial<NodeConfig> = {}
  const bad = (key: string, want: string): never => {
    throw new InvalidArgumentError(`${path}: "${key}" must be ${want}`)
  }
  const strings = (key: string): string[] | undefined => {
    const v = obj[key]
    if (v === undefined) return undefined
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) return bad(key, 'an array of multiaddr strings')
    return v as string[]
  }
  const listen = strings('listen')
  if (listen !== undefined) out.listen = listen
  const bootstrap = strings('bootstrap')
  if (bootstrap !== undefined) out.bootstrap = bootstrap
  if (obj.quota !== undefined && obj.quota !== null) {
    if (typeof obj.quota !== 'number' && typeof obj.quota !== 'string') bad('quota', 'a size such as "10GiB"')
    out.quota = parseByteSize(obj.quota as string | number)
  }
  if (obj.apiPort !== undefined) {
    const port = obj.apiPort
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) bad('apiPort', 'a port number')
    out.apiPort = port as number
  }
  for (const key of ['mdns', 'devnet'] as const) {
    if (obj[key] !== undefined) {
      if (typeof obj[key] !== 'boolean') bad(key, 'true or false')
      out[key] = obj[key] as boolean
    }
  }
  if (obj.heartbeatIntervalMs !== undefined && obj.heartbeatIntervalMs !== null) {
    const ms = obj.heartbeatIntervalMs
    if (typeof ms !== 'number' || !(ms > 0)) bad('heartbeatIntervalMs', 'a positive number of milliseconds')
    out.heartbeatIntervalMs = ms as number
  }
  return out
}
