import { stat } from 'node:fs/promises'
import { putTree } from '../client/index.ts'
import { InvalidArgumentError } from '../errors.ts'
import { openUserChain } from './chain-session.ts'
import { locateNetwork, openClientSession } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { markAutoRenew, openPutDeal, putDealFlags, putNodes, putProgress, putRedundancy } from './put-flow.ts'

/**
 * `cairn put -r DIR [--k K --n N | --durability P] [--name NAME] [--segment-size SIZE] [--duration EPOCHS]
 * [--max-price UNITS] [--auto-renew] [--json]`: the folder becomes one pack (its files, folders, modes, mtimes and
 * encrypted names), stored as one Cairn file under one deal.
 */
export async function runPutTree(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const path = parsed.positionals[0]!
  const flags = putDealFlags(parsed.values)
  await assertFolder(path)
  const location = await locateNetwork(parsed.values)
  const chain = await openUserChain(location)
  const { k, n } = await putRedundancy(parsed.values, location, chain, flags, context)
  const registered = await putNodes(chain, flags, context)
  const session = await openClientSession(location)
  const { bar, onProgress } = putProgress(context, { json: flags.json })
  try {
    const result = await putTree(
      session.client,
      path,
      {
        ...(k === undefined ? {} : { k }),
        ...(n === undefined ? {} : { n }),
        ...(flags.segmentSize === undefined ? {} : { segmentSize: flags.segmentSize }),
        ...(typeof parsed.values.name === 'string' ? { name: parsed.values.name } : {}),
        ...(registered === undefined ? {} : { eligible: registered.eligible, placement: registered.placement }),
        onSkip: (skipped) => {
          bar?.clear()
          context.stderr.write(`warning: skipped ${skipped.reason} ${skipped.path} (a tree stores files and folders)\n`)
        },
        onWalked: (totals) => bar?.setTotal(totals.packSize),
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
      context.stderr.write(
        `stored ${result.files} files and ${result.folders} folders (${result.bytes} bytes) as one file${deal === undefined ? '' : `, deal ${deal.dealId}`}\n`,
      )
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

/** Refuses `-`, a missing path and a file, each with what to do instead. */
export async function assertFolder(path: string): Promise<void> {
  if (path === '-') throw new InvalidArgumentError('put -r stores a folder: give its path, not -')
  const info = await stat(path).catch(() => undefined)
  if (info === undefined) throw new InvalidArgumentError(`${path}: no such folder`)
  if (!info.isDirectory())
    throw new InvalidArgumentError(`${path} is a file: put -r stores a folder (drop -r for a file)`)
}
