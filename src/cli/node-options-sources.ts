/**
 * The one table of where `cairn node start` reads each node option: its flag and its `CAIRN_*` environment variable
 * (config.json and the defaults are src/node's: node-options.ts). Precedence for every key: flag > variable >
 * config.json > default. Only src/cli reads `process.env`; it hands the variables to this file as a plain map.
 */
import { resolve } from 'node:path'
import { InvalidArgumentError } from '../errors.ts'
import {
  type NodeOptionKey,
  type NodeOptions,
  type NodeOptionsLayer,
  type NodeOptionValue,
  setNodeOption,
} from '../node/index.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { DEFAULT_NODE_DIR, NODE_DIR_ENV, NODE_OPTION_SOURCES } from './node-option-table.ts'

export { NODE_OPTION_FLAGS, NODE_OPTION_SOURCES, type NodeOptionSource } from './node-option-table.ts'

/**
 * The data dir of `cairn node start`: `--dir` > `CAIRN_NODE_DIR` > `.cairn-node`, resolved against the working
 * directory.
 */
export function nodeDataDir(values: ParsedCommandLine['values'], env: Record<string, string | undefined>): string {
  const fromEnv = env[NODE_DIR_ENV]
  return resolve((values.dir as string | undefined) ?? (fromEnv === '' ? undefined : fromEnv) ?? DEFAULT_NODE_DIR)
}

/**
 * The node options the environment sets (`CAIRN_*`, per `NODE_OPTION_SOURCES`); an empty variable counts as unset.
 * A value that does not parse is an error naming the variable.
 *
 * @example
 * ```ts
 * nodeOptionsFromEnv({ CAIRN_REPAIR_CONFIRM_MS: '1000' }) // { repair: { confirmMs: 1000 } }
 * ```
 */
export function nodeOptionsFromEnv(env: Record<string, string | undefined>): NodeOptionsLayer {
  const layer: NodeOptionsLayer = {}
  for (const source of NODE_OPTION_SOURCES) {
    if (source.env === undefined) continue
    const text = env[source.env]
    if (text === undefined || text === '') continue
    if (source.fromEnv !== undefined) assignNodeOption(layer, source.key, source.fromEnv(text))
    else if (source.multiple === true) setNodeOption(layer, source.key, commaList(text), source.env)
    else setNodeOption(layer, source.key, text, source.env)
  }
  return layer
}

/**
 * The node options the flags set (per `NODE_OPTION_SOURCES`). A value that does not parse is an error naming the
 * flag; a boolean's flag and its negation together contradict each other.
 *
 * @example
 * ```ts
 * nodeOptionsFromFlags({ 'api-port': '7000', 'no-mdns': true }) // { network: { apiPort: 7000, mdns: false } }
 * ```
 */
export function nodeOptionsFromFlags(values: ParsedCommandLine['values']): NodeOptionsLayer {
  const layer: NodeOptionsLayer = {}
  for (const source of NODE_OPTION_SOURCES) {
    if (source.flag === undefined) continue
    const raw = values[source.flag]
    const negative = source.negativeFlag === undefined ? undefined : values[source.negativeFlag]
    if (raw === true && negative === true) {
      throw new InvalidArgumentError(`--${source.flag} and --${source.negativeFlag} contradict each other`)
    }
    if (negative === true) setNodeOption(layer, source.key, false, `--${source.negativeFlag}`)
    else if (raw === false) continue
    else if (raw !== undefined) setNodeOption(layer, source.key, raw, `--${source.flag}`)
  }
  return layer
}

function assignNodeOption<K extends NodeOptionKey>(layer: NodeOptionsLayer, key: K, value: unknown): void {
  const [section, name] = key.split('.') as [keyof NodeOptions, string]
  ;(layer as Record<string, Record<string, unknown>>)[section] = {
    ...(layer[section] as Record<string, unknown> | undefined),
    [name]: value as NodeOptionValue<K>,
  }
}

function commaList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
}
