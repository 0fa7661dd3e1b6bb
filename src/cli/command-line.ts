import { parseArgs } from 'node:util'
import { InvalidArgumentError } from '../errors.ts'
import { MAX_SHARDS, type RedundancyPolicy, redundancyPolicy } from '../storage/index.ts'
import { NODE_OPTION_FLAGS } from './node-option-table.ts'

type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean }

const CLIENT_OPTIONS: Record<string, OptionSpec> = {
  devnet: { type: 'string' },
  bootstrap: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
}

/** Every command, its flags, and its one-line usage. */
export const COMMANDS = {
  devnet: {
    usage:
      'cairn devnet [--dir DIR] [--nodes N] [--heartbeat-ms MS] [--epoch-seconds S] [--no-chain] [--no-gateway] [--gateway-port P] [--s3-port P]',
    summary: 'start the devchain, N local storage nodes (default 6) and the gateway; Ctrl-C stops them',
    positionals: 0,
    options: {
      dir: { type: 'string' },
      nodes: { type: 'string' },
      'heartbeat-ms': { type: 'string' },
      'epoch-seconds': { type: 'string' },
      'no-chain': { type: 'boolean' },
      'no-gateway': { type: 'boolean' },
      'gateway-port': { type: 'string' },
      's3-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  },
  'node start': {
    usage:
      'cairn node start [--dir DIR] [--listen ADDR]... [--bootstrap ADDR]... [--quota SIZE] [--api-port PORT] [--no-mdns] [--chain-rpc URL --contracts FILE --key-file FILE] [--price UNITS] [--stake CAIRN] [--no-watcher] [--repair-*-ms MS] [--max-bytes-in-flight BYTES]',
    summary:
      'run one storage node (each setting from its flag, else its CAIRN_* variable, else DIR/config.json, else the default: docs/node.md)',
    positionals: 0,
    options: {
      dir: { type: 'string' },
      ...NODE_OPTION_FLAGS,
      help: { type: 'boolean', short: 'h' },
    },
  },
  put: {
    usage:
      'cairn put FILE|- [--k K --n N] [--name NAME] [--segment-size SIZE] [--duration EPOCHS] [--max-price UNITS] [--json] [--devnet DIR]',
    summary: 'store a file (or stdin) on the network and print its capability',
    positionals: 1,
    options: {
      ...CLIENT_OPTIONS,
      k: { type: 'string' },
      n: { type: 'string' },
      name: { type: 'string' },
      'segment-size': { type: 'string' },
      duration: { type: 'string' },
      'max-price': { type: 'string' },
    },
  },
  get: {
    usage: 'cairn get CAPABILITY [-o OUT] [--prefer PEER]... [--devnet DIR]',
    summary: 'fetch a file by its capability and write the exact bytes (stdout by default)',
    positionals: 1,
    options: {
      ...CLIENT_OPTIONS,
      output: { type: 'string', short: 'o' },
      prefer: { type: 'string', multiple: true },
    },
  },
  status: {
    usage: 'cairn status CAPABILITY [--watch] [--json] [--devnet DIR]',
    summary:
      "show a file's health (slots alive, segments readable), each slot's holder and the repairs running; --watch refreshes every second until fully healthy",
    positionals: 1,
    options: { ...CLIENT_OPTIONS, watch: { type: 'boolean', short: 'w' } },
  },
  nodes: {
    usage: 'cairn nodes [--json] [--devnet DIR]',
    summary: 'list the storage nodes with their failure-detector state',
    positionals: 0,
    options: CLIENT_OPTIONS,
  },
  wallet: {
    usage: 'cairn wallet [--json] [--devnet DIR]',
    summary: "show the user's wallet: CAIRN balance, escrow held by deals, gas",
    positionals: 0,
    options: CLIENT_OPTIONS,
  },
  deals: {
    usage: 'cairn deals [--json] [--devnet DIR]',
    summary: "show the user's deals: slots, holders, proofs made and missed, paid so far, escrow left",
    positionals: 0,
    options: CLIENT_OPTIONS,
  },
  s3: {
    usage: 'cairn s3 credentials [--json] [--devnet DIR]',
    summary: "print the devnet gateway's S3 access key and secret",
    positionals: 1,
    options: CLIENT_OPTIONS,
  },
  ls: {
    usage: 'cairn ls [--json] [--devnet DIR]',
    summary: 'list the files this machine put',
    positionals: 0,
    options: CLIENT_OPTIONS,
  },
} satisfies Record<string, { usage: string; summary: string; positionals: number; options: Record<string, OptionSpec> }>

export type CommandName = keyof typeof COMMANDS

export interface ParsedCommandLine {
  command: CommandName | 'help' | 'version'
  /** The command named after `help`, if any. */
  topic?: CommandName
  positionals: string[]
  values: Record<string, string | boolean | string[] | undefined>
}

/**
 * Splits `argv` (without node and script) into a command, its positionals and its flags. Unknown commands and flags
 * throw `InvalidArgumentError` with a message naming the fix.
 *
 * @example
 * ```ts
 * parseCommandLine(['put', 'a.txt', '--k', '2', '--n', '6'])
 * // { command: 'put', positionals: ['a.txt'], values: { k: '2', n: '6' } }
 * ```
 */
export function parseCommandLine(argv: string[]): ParsedCommandLine {
  const [first, second] = argv
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    const topic = second === undefined ? undefined : commandName(second === 'node' ? 'node start' : second)
    return topic === undefined
      ? { command: 'help', positionals: [], values: {} }
      : { command: 'help', topic, positionals: [], values: {} }
  }
  if (first === '--version' || first === 'version') return { command: 'version', positionals: [], values: {} }
  let name: CommandName
  let rest: string[]
  if (first === 'node') {
    if (second !== 'start') {
      throw new InvalidArgumentError(
        `unknown command "${`node ${second ?? ''}`.trim()}": did you mean "cairn node start"?`,
      )
    }
    name = 'node start'
    rest = argv.slice(2)
  } else {
    const found = commandName(first)
    if (found === undefined) {
      throw new InvalidArgumentError(`unknown command "${first}": run "cairn help" for the list of commands`)
    }
    name = found
    rest = argv.slice(1)
  }
  const spec = COMMANDS[name]
  let parsed: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] }
  try {
    parsed = parseArgs({ args: rest, options: spec.options, allowPositionals: true, strict: true }) as typeof parsed
  } catch (err) {
    const message = (err as Error).message.split('\n')[0]?.replace(/\. To specify a positional.*$/, '') ?? ''
    throw new InvalidArgumentError(`${message.replace(/\.$/, '')}: usage: ${spec.usage}`, { cause: err })
  }
  if (parsed.values.help === true) return { command: 'help', topic: name, positionals: [], values: {} }
  if (parsed.positionals.length !== spec.positionals) {
    throw new InvalidArgumentError(
      spec.positionals === 0
        ? `"${name}" takes no arguments, got "${parsed.positionals.join(' ')}": usage: ${spec.usage}`
        : `"${name}" takes ${spec.positionals} argument, got ${parsed.positionals.length}: usage: ${spec.usage}`,
    )
  }
  return { command: name, positionals: parsed.positionals, values: parsed.values }
}

function commandName(text: string): CommandName | undefined {
  return Object.hasOwn(COMMANDS, text) ? (text as CommandName) : undefined
}

/** The text of `cairn help [COMMAND]`. */
export function helpText(topic?: CommandName): string {
  if (topic !== undefined) return `${COMMANDS[topic].summary}\nusage: ${COMMANDS[topic].usage}\n`
  const lines = ['cairn: a decentralized storage network', '', 'commands:']
  for (const spec of Object.values(COMMANDS)) lines.push(`  ${spec.usage}`, `      ${spec.summary}`)
  lines.push(
    '',
    'Client commands find the network through --devnet DIR or the CAIRN_DEVNET env var (default .cairn-devnet),',
    'or through --bootstrap ADDR. Exit codes: 0 ok, 1 failure, 2 usage, 3 not enough nodes, 4 unreachable, 5 bad data.',
  )
  return `${lines.join('\n')}\n`
}

/** Reads an integer flag, with a message naming the flag when it is not one. */
export function integerFlag(
  values: ParsedCommandLine['values'],
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = values[name]
  if (raw === undefined) return undefined
  const value = Number(raw)
  if (typeof raw !== 'string' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`--${name} must be a whole number from ${min} to ${max}, got "${String(raw)}"`)
  }
  return value
}

/**
 * Reads `--k` and `--n` and checks them with the storage layer's one redundancy rule (`redundancyPolicy`, the
 * defaults filling the flag not given). `--k` above 1 without `--n` is refused: the default n leaves little spare.
 *
 * @example
 * ```ts
 * redundancyFlags(parseCommandLine(['put', 'a.txt', '--k', '2', '--n', '6']).values) // { k: 2, n: 6 }
 * ```
 */
export function redundancyFlags(values: ParsedCommandLine['values']): Partial<RedundancyPolicy> {
  const k = integerFlag(values, 'k', 1, MAX_SHARDS)
  const n = integerFlag(values, 'n', 1, MAX_SHARDS)
  if (k !== undefined && n === undefined && k > 1 && k < MAX_SHARDS) {
    throw new InvalidArgumentError(
      `--k ${k} needs --n as well (for example --k ${k} --n ${Math.min(k * 3, MAX_SHARDS)})`,
    )
  }
  if (k !== undefined || n !== undefined) redundancyPolicy(k, n)
  return { ...(k === undefined ? {} : { k }), ...(n === undefined ? {} : { n }) }
}
