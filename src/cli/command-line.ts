import { parseArgs } from 'node:util'
import { InvalidArgumentError } from '../errors.ts'
import { MAX_SHARDS, type RedundancyPolicy, redundancyPolicy } from '../storage/index.ts'
import { NODE_OPTION_FLAGS } from './node-option-table.ts'

type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean }

const CLIENT_OPTIONS: Record<string, OptionSpec> = {
  network: { type: 'string' },
  'key-file': { type: 'string' },
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
  'network deploy': {
    usage:
      'cairn network deploy --rpc URL --key-file FILE --out network.json [--name NAME] [--bootstrap MULTIADDR]... [--lan] [--epoch-seconds S] [--supply CAIRN]',
    summary:
      "deploy Cairn's contracts to any EVM chain (standard JSON-RPC only) and write the network file operators and users join with; the deployer holds the supply",
    positionals: 0,
    options: {
      rpc: { type: 'string' },
      'key-file': { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      bootstrap: { type: 'string', multiple: true },
      lan: { type: 'boolean' },
      'epoch-seconds': { type: 'string' },
      supply: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  },
  'node start': {
    usage:
      'cairn node start [--network FILE] [--dir DIR] [--key-file FILE] [--listen MULTIADDR]... [--announce MULTIADDR]... [--ice-server STUN-URL]... [--bootstrap MULTIADDR]... [--lan] [--quota SIZE] [--price UNITS] [--stake CAIRN] [--api-port PORT] [--no-mdns] [--chain-rpc URL [--chain-rpc-fallback URL]... --contracts FILE] [--no-watcher] [--repair-*-ms MS] [--max-bytes-in-flight BYTES]',
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
      'cairn put FILE|-|-r DIR [--k K --n N | --durability P [--years Y]] [--name NAME] [--segment-size SIZE] [--duration EPOCHS] [--max-price UNITS] [--quote] [--auto-renew] [--json] [--network FILE --key-file FILE | --devnet DIR]',
    summary: 'store a file (or stdin, or with -r a folder: one pack, one deal) on the network and print its capability',
    positionals: 1,
    options: {
      ...CLIENT_OPTIONS,
      recursive: { type: 'boolean', short: 'r' },
      k: { type: 'string' },
      n: { type: 'string' },
      name: { type: 'string' },
      'segment-size': { type: 'string' },
      duration: { type: 'string' },
      'max-price': { type: 'string' },
      quote: { type: 'boolean' },
      'auto-renew': { type: 'boolean' },
      durability: { type: 'string' },
      years: { type: 'string' },
    },
  },
  quote: {
    usage:
      'cairn quote FILE|-|-r DIR [--k K --n N | --durability P [--years Y]] [--duration EPOCHS] [--max-price UNITS] [--segment-size SIZE] [--json] [--network FILE | --devnet DIR]',
    summary:
      "print what storing FILE (or with -r a folder) costs, without paying: per epoch, total escrow, the nodes' current offers (cairn put --quote does the same)",
    positionals: 1,
    options: {
      ...CLIENT_OPTIONS,
      recursive: { type: 'boolean', short: 'r' },
      k: { type: 'string' },
      n: { type: 'string' },
      durability: { type: 'string' },
      years: { type: 'string' },
      duration: { type: 'string' },
      'max-price': { type: 'string' },
      'segment-size': { type: 'string' },
    },
  },
  renew: {
    usage:
      'cairn renew CAPABILITY|DEAL --duration EPOCHS [--json] | cairn renew --due [--json] [--network FILE --key-file FILE | --devnet DIR]',
    summary:
      'extend a deal by EPOCHS (pays from the wallet); --due renews every deal put with --auto-renew that ends soon (run it from a timer)',
    positionals: 1,
    minPositionals: 0,
    options: { ...CLIENT_OPTIONS, duration: { type: 'string' }, due: { type: 'boolean' } },
  },
  plan: {
    usage:
      'cairn plan --durability P [--years Y] [--node-failure-rate R] [--repair-hours H] [--nodes N] [--json] [--network FILE | --devnet DIR]',
    summary:
      "choose k and n for a durability (e.g. 0.999999999 over 1 year) from the network's failure and repair history: prints the model, its inputs, the cost factor and the loss probability",
    positionals: 0,
    options: {
      ...CLIENT_OPTIONS,
      durability: { type: 'string' },
      years: { type: 'string' },
      'node-failure-rate': { type: 'string' },
      'repair-hours': { type: 'string' },
      nodes: { type: 'string' },
    },
  },
  get: {
    usage:
      'cairn get CAPABILITY[/PATH] [-o OUT] [--prefer PEER]... | cairn get -r CAPABILITY -o DIR [--network FILE | --devnet DIR]',
    summary:
      'fetch a file by its capability and write the exact bytes (stdout by default); CAPABILITY/PATH reads one file of a folder, -r restores the folder into DIR',
    positionals: 1,
    options: {
      ...CLIENT_OPTIONS,
      recursive: { type: 'boolean', short: 'r' },
      output: { type: 'string', short: 'o' },
      prefer: { type: 'string', multiple: true },
    },
  },
  status: {
    usage: 'cairn status CAPABILITY [--watch] [--json] [--network FILE | --devnet DIR]',
    summary:
      "show a file's health (slots alive, segments readable), each slot's holder and the repairs running; --watch refreshes every second until fully healthy",
    positionals: 1,
    options: { ...CLIENT_OPTIONS, watch: { type: 'boolean', short: 'w' } },
  },
  nodes: {
    usage: 'cairn nodes [--json] [--network FILE | --devnet DIR]',
    summary: 'list the storage nodes with their failure-detector state',
    positionals: 0,
    options: CLIENT_OPTIONS,
  },
  wallet: {
    usage: 'cairn wallet [--json] [--network FILE --key-file FILE | --devnet DIR]',
    summary: "show the user's wallet: CAIRN balance, escrow held by deals, gas",
    positionals: 0,
    options: CLIENT_OPTIONS,
  },
  'wallet new': {
    usage: 'cairn wallet new --out FILE [--json]',
    summary: 'make a fresh wallet key in FILE (mode 0600, never over an existing file) and print its address',
    positionals: 0,
    options: { out: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  },
  'wallet send': {
    usage: 'cairn wallet send ADDRESS AMOUNT [--eth] [--json] [--network FILE --key-file FILE | --devnet DIR]',
    summary: 'send AMOUNT CAIRN (or ether for gas with --eth) from the wallet to ADDRESS',
    positionals: 2,
    options: { ...CLIENT_OPTIONS, eth: { type: 'boolean' } },
  },
  gateway: {
    usage:
      'cairn gateway --network FILE --key-file FILE [--listen HOST:PORT] [--s3-listen HOST:PORT | --no-s3] [--dir DIR] [--public-reads]',
    summary: "run the HTTP API, dashboard and S3 endpoint on any network; uploads open deals paid by the key's wallet",
    positionals: 0,
    options: {
      network: { type: 'string' },
      devnet: { type: 'string' },
      'key-file': { type: 'string' },
      listen: { type: 'string' },
      's3-listen': { type: 'string' },
      'no-s3': { type: 'boolean' },
      dir: { type: 'string' },
      'public-reads': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  },
  deals: {
    usage: 'cairn deals [--json] [--network FILE --key-file FILE | --devnet DIR]',
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
  rm: {
    usage: 'cairn rm CAPABILITY [--json] [--network FILE --key-file FILE | --devnet DIR]',
    summary:
      "remove a file: end its deals (the escrow no node can still earn comes back) and forget it from this machine's list; the nodes delete its pieces after their grace period",
    positionals: 1,
    options: CLIENT_OPTIONS,
  },
  'node unbond': {
    usage: 'cairn node unbond [--json] (--network FILE | --devnet DIR) --key-file NODE_KEY',
    summary:
      'start leaving the network: the node takes no new slot; its stake can be withdrawn after the unbonding delay once its deals ended',
    positionals: 0,
    options: CLIENT_OPTIONS,
  },
  'node withdraw-stake': {
    usage: 'cairn node withdraw-stake [--json] (--network FILE | --devnet DIR) --key-file NODE_KEY',
    summary: "pay an unbonded node's stake back to its key's wallet (after the unbonding delay, once it holds no slot)",
    positionals: 0,
    options: CLIENT_OPTIONS,
  },
  ls: {
    usage: 'cairn ls [CAPABILITY[/PATH]] [--json] [--network FILE | --devnet DIR]',
    summary: 'list the files this machine put, or with a capability the files and folders of a stored folder',
    positionals: 1,
    minPositionals: 0,
    options: CLIENT_OPTIONS,
  },
  'name publish': {
    usage:
      'cairn name publish NAME CAPABILITY [--expect-sequence N] [--json] [--network FILE --key-file FILE | --devnet DIR]',
    summary:
      "point the wallet's name NAME to CAPABILITY (record current+1 on chain, sealed: whoever knows the name and the owner's address reads it, so pick an unguessable name to share privately); --expect-sequence N publishes only if the name is still at N",
    positionals: 2,
    options: { ...CLIENT_OPTIONS, 'expect-sequence': { type: 'string' } },
  },
  'name resolve': {
    usage: 'cairn name resolve NAME [--owner 0xADDR] [--json] [--network FILE [--key-file FILE] | --devnet DIR]',
    summary: "print the capability NAME of OWNER (default: the wallet's own) points to now, read from the chain",
    positionals: 1,
    options: { ...CLIENT_OPTIONS, owner: { type: 'string' } },
  },
  'name history': {
    usage: 'cairn name history NAME [--owner 0xADDR] [--json] [--network FILE [--key-file FILE] | --devnet DIR]',
    summary: 'list every record of NAME of OWNER: sequence, time, block and capability, oldest first',
    positionals: 1,
    options: { ...CLIENT_OPTIONS, owner: { type: 'string' } },
  },
} satisfies Record<
  string,
  { usage: string; summary: string; positionals: number; minPositionals?: number; options: Record<string, OptionSpec> }
>

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
  const [first, second, third] = argv
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    const group = second === undefined ? undefined : SUBCOMMANDS[second]
    const topic =
      second === undefined
        ? undefined
        : commandName(
            group !== undefined && (group.required || third !== undefined)
              ? `${second} ${third ?? group.names[0]}`
              : second,
          )
    return topic === undefined
      ? { command: 'help', positionals: [], values: {} }
      : { command: 'help', topic, positionals: [], values: {} }
  }
  if (first === '--version' || first === 'version') return { command: 'version', positionals: [], values: {} }
  let name: CommandName
  let rest: string[]
  const group = SUBCOMMANDS[first]
  if (group !== undefined && (group.required || group.names.includes(second ?? ''))) {
    if (!group.names.includes(second ?? '')) {
      throw new InvalidArgumentError(
        `unknown command "${`${first} ${second ?? ''}`.trim()}": did you mean "cairn ${first} ${group.names[0]}"?`,
      )
    }
    name = `${first} ${second}` as CommandName
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
  const fewest: number = 'minPositionals' in spec ? spec.minPositionals : spec.positionals
  if (parsed.positionals.length > spec.positionals || parsed.positionals.length < fewest) {
    throw new InvalidArgumentError(
      spec.positionals === 0
        ? `"${name}" takes no arguments, got "${parsed.positionals.join(' ')}": usage: ${spec.usage}`
        : `"${name}" takes ${spec.positionals} argument, got ${parsed.positionals.length}: usage: ${spec.usage}`,
    )
  }
  return { command: name, positionals: parsed.positionals, values: parsed.values }
}

/**
 * Commands of two words: `node start` and `network deploy` need their second word; `wallet` alone is a command too.
 */
const SUBCOMMANDS: Record<string, { required: boolean; names: string[] }> = {
  node: { required: true, names: ['start', 'unbond', 'withdraw-stake'] },
  network: { required: true, names: ['deploy'] },
  wallet: { required: false, names: ['new', 'send'] },
  name: { required: true, names: ['publish', 'resolve', 'history'] },
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
    'Commands find the network through --network FILE (its network.json) or CAIRN_NETWORK; a devnet through',
    '--devnet DIR or CAIRN_DEVNET (default .cairn-devnet). The wallet that pays is --key-file FILE or CAIRN_PRIVATE_KEY',
    "(a devnet's user.key by default). Guides: docs/users.md, docs/operators.md.",
    'Exit codes: 0 ok, 1 failure, 2 usage, 3 not enough nodes, 4 unreachable, 5 bad data.',
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
