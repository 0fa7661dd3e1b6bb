import { stat } from 'node:fs/promises'
import {
  type ClientProgressEvent,
  makeStorageDeal,
  putTree,
  registeredNodes,
  type StorageDeal,
} from '../client/index.ts'
import { InvalidArgumentError } from '../errors.ts'
import { parseByteSize } from '../node/index.ts'
import { openUserChain } from './chain-session.ts'
import { locateNetwork, openClientSession } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import { integerFlag, type ParsedCommandLine, redundancyFlags } from './command-line.ts'
import { shortPeerId } from './output.ts'
import { ProgressBar } from './progress-bar.ts'

/** Flags of `put` that a folder put does not take yet. */
const FILE_ONLY_FLAGS = ['quote', 'auto-renew', 'durability', 'years']

/**
 * `cairn put -r DIR [--k K --n N] [--name NAME] [--segment-size SIZE] [--duration EPOCHS] [--max-price UNITS] [--json]`:
 * the folder becomes one pack (its files, folders, modes, mtimes and encrypted names), stored as one Cairn file under
 * one deal.
 */
export async function runPutTree(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const path = parsed.positionals[0]!
  for (const flag of FILE_ONLY_FLAGS) {
    if (parsed.values[flag] !== undefined) {
      throw new InvalidArgumentError(`--${flag} is not available with put -r yet: store the folder without it`)
    }
  }
  if (path === '-') throw new InvalidArgumentError('put -r stores a folder: give its path, not -')
  const info = await stat(path).catch(() => undefined)
  if (info === undefined) throw new InvalidArgumentError(`${path}: no such folder`)
  if (!info.isDirectory())
    throw new InvalidArgumentError(`${path} is a file: put -r stores a folder (drop -r for a file)`)
  const { k, n } = redundancyFlags(parsed.values)
  const segmentText = parsed.values['segment-size']
  const segmentSize = typeof segmentText === 'string' ? parseByteSize(segmentText) : undefined
  const duration = integerFlag(parsed.values, 'duration', 1, 2 ** 32 - 1)
  const maxPriceText = parsed.values['max-price']
  if (maxPriceText !== undefined && (typeof maxPriceText !== 'string' || !/^\d+$/.test(maxPriceText))) {
    throw new InvalidArgumentError('--max-price must be a whole number of token units per byte per epoch')
  }
  const maxPrice = maxPriceText === undefined ? undefined : BigInt(maxPriceText)
  const json = parsed.values.json === true
  const location = await locateNetwork(parsed.values)
  const chain = await openUserChain(location)
  const registered =
    chain === undefined
      ? undefined
      : await registeredNodes(chain.client, maxPrice === undefined ? {} : { maxPricePerByteEpoch: maxPrice }, {
          signal: context.signal,
        })
  const session = await openClientSession(location)
  const bar =
    context.showProgress || !json
      ? new ProgressBar({ label: 'put', stream: context.stderr, plain: !context.showProgress })
      : undefined
  let read = 0
  const onProgress = (event: ClientProgressEvent) => {
    if (event.type === 'put:read') bar?.update((read += event.bytes))
    else if (event.type === 'put:retry') {
      bar?.clear()
      context.stderr.write(
        `warning: node ${shortPeerId(event.from)} failed slot ${event.slot} (${event.error}); moved it to ${shortPeerId(event.to)}\n`,
      )
    } else if (event.type === 'put:manifest') bar?.note('storing manifest')
  }
  try {
    const result = await putTree(
      session.client,
      path,
      {
        ...(k === undefined ? {} : { k }),
        ...(n === undefined ? {} : { n }),
        ...(segmentSize === undefined ? {} : { segmentSize }),
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
    let deal: StorageDeal | undefined
    if (chain !== undefined) {
      deal = await makeStorageDeal(
        chain.client,
        result,
        {
          network: session.network,
          ...(duration === undefined ? {} : { durationEpochs: duration }),
          ...(maxPrice === undefined ? {} : { maxPricePerByteEpoch: maxPrice }),
          onProgress: (event) => {
            if (event.type === 'deal:created' && !json) {
              context.stderr.write(`deal ${event.dealId} created; waiting for the ${result.n} holders to confirm\n`)
            }
          },
        },
        { signal: context.signal },
      )
    }
    const { commitments: _commitments, ...shown } = result
    if (json) {
      context.stdout.write(`${JSON.stringify({ ...shown, ...(deal === undefined ? {} : { deal }) })}\n`)
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
