import { join } from 'node:path'
import { s3Credentials } from '../api/index.ts'
import { InvalidArgumentError, NotFoundError } from '../errors.ts'
import { locateNetwork } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'

/** `cairn s3 credentials [--json]`: the devnet gateway's S3 endpoint and keys. */
export async function runS3(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  if (parsed.positionals[0] !== 'credentials') {
    throw new InvalidArgumentError(`unknown s3 command "${parsed.positionals[0]}": try "cairn s3 credentials"`)
  }
  const location = await locateNetwork(parsed.values)
  if (location.devnetDir === undefined) throw new NotFoundError('S3 credentials belong to a devnet: pass --devnet DIR')
  const credentials = await s3Credentials(join(location.devnetDir, 'gateway'))
  if (parsed.values.json === true) context.stdout.write(`${JSON.stringify(credentials)}\n`)
  else {
    context.stdout.write(
      `${Object.entries(credentials)
        .map(([key, value]) => `${key}  ${String(value)}`)
        .join('\n')}\n`,
    )
  }
  return 0
}
