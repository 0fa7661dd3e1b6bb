/**
 * `cairn name publish|resolve|history`: names that change, with history. A name belongs to the wallet that publishes
 * it (the key that pays: --key-file, CAIRN_PRIVATE_KEY or a devnet's user.key); anyone who knows the name and the
 * owner's address resolves it, without any node or gateway: the records are on chain (docs/protocol.md, "Names").
 */
import { type Address, getAddress, isAddress } from 'viem'
import { type ChainReader, createChainReader, networkChain } from '../chain/index.ts'
import { checkName, checkNameValue, type NameEntry, nameHistory, publishName, resolveName } from '../client/index.ts'
import { InvalidArgumentError, NotFoundError } from '../errors.ts'
import { openUserChain } from './chain-session.ts'
import { locateNetwork } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import { integerFlag, type ParsedCommandLine } from './command-line.ts'
import { formatTable } from './output.ts'

/** The name argument, checked before anything touches the network. */
function nameArgument(parsed: ParsedCommandLine): string {
  return checkName(parsed.positionals[0] ?? '')
}

/** `--owner 0xADDR`, checked. */
function ownerFlag(values: ParsedCommandLine['values']): Address | undefined {
  const raw = values.owner
  if (raw === undefined) return undefined
  if (typeof raw !== 'string' || !isAddress(raw, { strict: false })) {
    throw new InvalidArgumentError(
      `--owner must be the owner's 0x address of 40 hex digits (cairn wallet shows yours), got "${String(raw)}"`,
    )
  }
  return getAddress(raw)
}

/** A reader of the network's chain and the owner to read: --owner, else the user's own wallet. */
async function readerFor(parsed: ParsedCommandLine): Promise<{ reader: ChainReader; owner: Address }> {
  const owner = ownerFlag(parsed.values)
  const location = await locateNetwork(parsed.values)
  const network = location.network
  if (network === undefined) {
    throw new NotFoundError(
      'this network has no chain: pass --network FILE (its network.json), or start the devnet with its chain (cairn devnet, without --no-chain)',
    )
  }
  if (owner !== undefined) {
    return {
      reader: createChainReader(networkChain(network)),
      owner,
    }
  }
  const chain = await openUserChain(location).catch((error: unknown) => {
    throw new NotFoundError(
      `no owner to resolve the name for: pass --owner 0xADDR (the address of the wallet that published it), or --key-file FILE for your own names`,
      { cause: error },
    )
  })
  return { reader: chain!.client, owner: chain!.client.account.address }
}

/** `cairn name publish NAME CAPABILITY [--expect-sequence N] [--json]`. */
export async function runNamePublish(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const name = nameArgument(parsed)
  const capability = checkNameValue(parsed.positionals[1] ?? '')
  const expectSequence = integerFlag(parsed.values, 'expect-sequence', 0, Number.MAX_SAFE_INTEGER)
  const location = await locateNetwork(parsed.values)
  const chain = await openUserChain(location)
  if (chain === undefined) {
    throw new NotFoundError(
      'this network has no chain: pass --network FILE (its network.json), or start the devnet with its chain (cairn devnet, without --no-chain)',
    )
  }
  const published = await publishName(
    chain.client,
    { name, capability, ...(expectSequence === undefined ? {} : { expectSequence }) },
    { signal: context.signal },
  )
  if (parsed.values.json === true) {
    context.stdout.write(`${JSON.stringify(published)}\n`)
  } else {
    context.stdout.write(
      `name ${published.name} -> sequence ${published.sequence} (was ${published.previousSequence === 0 ? 'new' : published.previousSequence}), owner ${published.owner}, block ${published.blockNumber}\n` +
        `resolve it with: cairn name resolve ${JSON.stringify(published.name)} --owner ${published.owner}\n`,
    )
  }
  return 0
}

/** `cairn name resolve NAME [--owner 0xADDR] [--json]`: prints the capability the name points to now. */
export async function runNameResolve(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const name = nameArgument(parsed)
  const { reader, owner } = await readerFor(parsed)
  const entry = await resolveName(reader, { name, owner }, { signal: context.signal })
  if (parsed.values.json === true) context.stdout.write(`${JSON.stringify(entry)}\n`)
  else {
    context.stdout.write(`${entry.capability}\n`)
    context.stderr.write(`name ${entry.name} of ${entry.owner}: sequence ${entry.sequence}, set ${entry.time}\n`)
  }
  return 0
}

/** `cairn name history NAME [--owner 0xADDR] [--json]`: every record, oldest first. */
export async function runNameHistory(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const name = nameArgument(parsed)
  const { reader, owner } = await readerFor(parsed)
  const entries: NameEntry[] = await nameHistory(reader, { name, owner }, { signal: context.signal })
  if (parsed.values.json === true) {
    context.stdout.write(`${JSON.stringify(entries)}\n`)
    return 0
  }
  context.stdout.write(`name ${JSON.stringify(entries[0]?.name ?? name)} of ${owner}: ${entries.length} records\n`)
  context.stdout.write(
    formatTable(
      ['SEQ', 'TIME', 'BLOCK', 'CAPABILITY'],
      entries.map((e) => [String(e.sequence), e.time, e.blockNumber, e.capability]),
    ),
  )
  return 0
}
