import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { InvalidArgumentError } from '../errors.ts'
import { openUserChain } from './chain-session.ts'
import { locateNetwork, openClientSession } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { runPutTree } from './command-put-tree.ts'
import { formatQuote, quoteFromFlags } from './command-quote.ts'
import { markAutoRenew, openPutDeal, putDealFlags, putNodes, putProgress, putRedundancy } from './put-flow.ts'

/**
 * `cairn put FILE --quote` (or `put -r DIR --quote`): the quote of this put (what `cairn quote` prints), without
 * storing or paying anything.
 */
async function runPutQuote(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const { quote, planText } = await quoteFromFlags(parsed.positionals[0]!, parsed.values, context)
  if (parsed.values.json === true) context.stdout.write(`${JSON.stringify({ quote })}\n`)
  else
    context.stdout.write(
      `${planText ?? ''}${formatQuote(quote)}nothing stored or paid (--quote): run the same put without --quote to store\n`,
    )
  return 0
}

/**
 * `cairn put FILE|- [--k K --n N | --durability P] [--name NAME] [--duration EPOCHS] [--max-price UNITS] [--quote]
 * [--auto-renew] [--json]` (`-r DIR` for a folder, with the same flags): on a network with a chain, the put succeeds only once the file's deal is active (escrow
 * paid, every holder confirmed its slot). `--max-price` is per byte per epoch; a put refuses, before uploading, a cap
 * below the offers of n nodes of distinct operators.
 */
export async function runPut(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  if (parsed.values.quote === true) return runPutQuote(parsed, context)
  if (parsed.values.recursive === true) return runPutTree(parsed, context)
  const path = parsed.positionals[0]!
  const flags = putDealFlags(parsed.values)
  let size: number | undefined
  let source: AsyncIterable<Uint8Array>
  let metadata: { name?: string; mtime?: number } = {}
  if (path === '-') {
    source = process.stdin
  } else {
    const info = await stat(path)
    if (info.isDirectory()) {
      throw new InvalidArgumentError(`${path} is a folder: put takes one file (or - for stdin; put -r for a folder)`)
    }
    size = info.size
    metadata = { name: basename(path), mtime: Math.round(info.mtimeMs) }
    source = createReadStream(path, { highWaterMark: 1024 * 1024 })
  }
  if (typeof parsed.values.name === 'string') metadata.name = parsed.values.name
  const location = await locateNetwork(parsed.values)
  const chain = await openUserChain(location)
  const { k, n } = await putRedundancy(parsed.values, location, chain, flags, context)
  const registered = await putNodes(chain, flags, context)
  const session = await openClientSession(location)
  const { bar, onProgress } = putProgress(context, { json: flags.json, ...(size === undefined ? {} : { total: size }) })
  try {
    const result = await session.client.put(
      source,
      {
        ...(k === undefined ? {} : { k }),
        ...(n === undefined ? {} : { n }),
        ...(flags.segmentSize === undefined ? {} : { segmentSize: flags.segmentSize }),
        metadata,
        ...(registered === undefined ? {} : { eligible: registered.eligible, placement: registered.placement }),
        onProgress,
      },
      { signal: context.signal },
    )
    bar?.finish()
    const deal = await openPutDeal(chain, session.network, result, flags, context)
    const autoRenew = await markAutoRenew(parsed.values, location, deal, result.manifestCid, flags, context)
    const { commitments: _commitments, ...shown } = result
    if (flags.json) {
      context.stdout.write(
        `${JSON.stringify({ ...shown, ...(deal === undefined ? {} : { deal }), ...(autoRenew === undefined ? {} : { autoRenew }) })}\n`,
      )
    } else {
      context.stdout.write(`${result.capability}\n`)
    }
    return 0
  } catch (err) {
    bar?.clear()
    throw err
  } finally {
    await session.close()
  }
}
