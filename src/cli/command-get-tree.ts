import { checkRestoreTarget, getTree, openTree, readTreeFile, treeFile } from '../client/index.ts'
import { InvalidArgumentError } from '../errors.ts'
import { parseCapability, splitTreeCapability } from '../storage/index.ts'
import { locateNetwork, openClientSession } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { assertFolderExists, writeGetOutput, writesFile } from './get-output.ts'
import { ProgressBar } from './progress-bar.ts'

/** True when `cairn get` names a folder's content: `-r`, or a capability followed by a path. */
export function isTreeGet(parsed: ParsedCommandLine): boolean {
  return parsed.values.recursive === true || splitTreeCapability(parsed.positionals[0]!).path !== ''
}

/**
 * `cairn get -r CAPABILITY -o DIR` restores a stored folder into DIR (new or empty) in one streaming read of its pack;
 * `cairn get CAPABILITY/PATH [-o FILE]` reads one file of it, fetching only the segments that hold it.
 */
export async function runGetTree(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const { capability, path } = splitTreeCapability(parsed.positionals[0]!)
  parseCapability(capability)
  const output = parsed.values.output as string | undefined
  const prefer = parsed.values.prefer === undefined ? {} : { prefer: parsed.values.prefer as string[] }
  if (parsed.values.recursive === true) {
    if (path !== '') {
      throw new InvalidArgumentError(`get -r restores a whole folder: drop /${path}, or drop -r to read that one file`)
    }
    if (output === undefined || output === '-') {
      throw new InvalidArgumentError('get -r needs -o DIR: the new folder to restore the tree into')
    }
    await checkRestoreTarget(output)
  } else if (writesFile(output)) {
    await assertFolderExists(output)
  }
  const session = await openClientSession(await locateNetwork(parsed.values))
  const toFile = writesFile(output)
  const bar =
    context.showProgress || toFile
      ? new ProgressBar({ label: 'get', stream: context.stderr, plain: !context.showProgress })
      : undefined
  try {
    if (parsed.values.recursive === true) {
      let bytes = 0
      const restored = await getTree(
        session.client,
        capability,
        output!,
        {
          ...prefer,
          onIndex: (tree) => bar?.setTotal(tree.dataSize),
          onFile: (_path, size) => bar?.update((bytes += size)),
        },
        { signal: context.signal },
      )
      bar?.finish()
      context.stderr.write(`restored ${restored.files} files and ${restored.folders} folders into ${output}\n`)
      return 0
    }
    const tree = await openTree(session.client, capability, prefer, { signal: context.signal })
    const entry = treeFile(tree, path)
    bar?.setTotal(entry.size)
    let bytes = 0
    const chunks = (async function* () {
      for await (const chunk of readTreeFile(session.client, capability, tree, path, prefer, {
        signal: context.signal,
      })) {
        bar?.update((bytes += chunk.byteLength))
        yield chunk
      }
    })()
    const times = entry.mtime + entry.mtimeNs / 1e9
    await writeGetOutput(chunks, output, context, { mode: entry.mode & 0o1777, mtimeSeconds: times })
    bar?.finish()
    return 0
  } catch (err) {
    bar?.clear()
    throw err
  } finally {
    await session.close()
  }
}
