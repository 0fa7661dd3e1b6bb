import { stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { createPublicClient, formatEther, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import {
  bootstrapProblem,
  createChainClient,
  DEFAULT_EPOCH_SECONDS,
  deployContracts,
  loadPrivateKey,
  NETWORK_FILE_FORMAT,
  type NetworkFile,
  TOKEN_DECIMALS,
  toCairnError,
  writeNetworkFile,
} from '../chain/index.ts'
import { InsufficientFundsError, InvalidArgumentError } from '../errors.ts'
import type { CommandContext } from './command-context.ts'
import { integerFlag, type ParsedCommandLine } from './command-line.ts'
import { formatTokens } from './token-amount.ts'

/** CAIRN minted to the deployer at deployment when `--supply` is not given: 100 million. */
export const DEFAULT_NETWORK_SUPPLY = 100_000_000n

/**
 * `cairn network deploy --rpc URL --key-file FILE --out network.json [--name NAME] [--bootstrap MULTIADDR]... [--lan]
 * [--epoch-seconds S] [--supply CAIRN]`: deploys the Token, Registry and Market to the chain at URL from the key's
 * account (standard JSON-RPC only: eth_chainId, eth_sendRawTransaction, receipts, calls), mints the supply to that
 * account, and writes the network file. The file is checked to be new before any gas is spent.
 */
export async function runNetworkDeploy(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const v = parsed.values
  const rpc = requiredFlag(v.rpc, '--rpc URL', 'the JSON-RPC endpoint of the chain, e.g. http://127.0.0.1:8545')
  const outText = requiredFlag(v.out, '--out FILE', 'where to write the network file, e.g. network.json')
  const out = resolve(outText)
  let url: URL
  try {
    url = new URL(rpc)
  } catch {
    throw new InvalidArgumentError(
      `--rpc ${rpc} is not a URL: pass the chain's JSON-RPC endpoint, e.g. http://127.0.0.1:8545`,
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`--rpc must be an http or https URL, got the scheme "${url.protocol}"`)
  }
  const bootstrap = (v.bootstrap as string[] | undefined) ?? []
  for (const entry of bootstrap) {
    const problem = bootstrapProblem(entry)
    if (problem !== undefined) throw new InvalidArgumentError(`--bootstrap ${problem}`)
  }
  const epochSeconds = integerFlag(v, 'epoch-seconds', 2, 7 * 86_400) ?? DEFAULT_EPOCH_SECONDS
  const supplyText = (v.supply as string | undefined) ?? DEFAULT_NETWORK_SUPPLY.toString()
  if (!/^\d{1,15}$/.test(supplyText) || BigInt(supplyText) === 0n) {
    throw new InvalidArgumentError(
      `--supply must be a whole number of CAIRN above 0 (at most 15 digits), got "${supplyText}"`,
    )
  }
  const supply = BigInt(supplyText) * 10n ** BigInt(TOKEN_DECIMALS)
  const name = (v.name as string | undefined) ?? undefined
  if (name !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(name)) {
    throw new InvalidArgumentError(`--name must be 1 to 64 letters, digits, ".", "_" or "-", got "${name}"`)
  }
  await assertNewFile(out)
  const keyFile = v['key-file'] as string | undefined
  const envKey = process.env.CAIRN_PRIVATE_KEY
  if (keyFile === undefined && (envKey === undefined || envKey === '')) {
    throw new InvalidArgumentError(
      "network deploy needs the deployer's key: pass --key-file FILE (an account with ether for gas) or set CAIRN_PRIVATE_KEY",
    )
  }
  const privateKey = await loadPrivateKey(keyFile === undefined ? { text: envKey } : { file: keyFile })
  const deployer = privateKeyToAccount(privateKey).address
  const options = { signal: context.signal }
  const reader = createPublicClient({ transport: http(rpc, { retryCount: 2 }) })
  let chainId: number
  let ether: bigint
  try {
    chainId = await reader.getChainId()
    ether = await reader.getBalance({ address: deployer })
  } catch (err) {
    throw toCairnError(err, `read the chain at ${url.origin}`, context.signal)
  }
  if (ether === 0n) {
    throw new InsufficientFundsError(
      `the deployer ${deployer} has no ether on chain ${chainId} to pay for the deployment's gas: fund it first`,
    )
  }
  const client = createChainClient({
    rpcUrl: rpc,
    chainId,
    privateKey,
    contracts: { token: '0x', registry: '0x', market: '0x' },
  })
  context.stderr.write(`deploying Cairn's contracts on chain ${chainId} from ${deployer} (${formatEther(ether)} ETH)\n`)
  const deployment = await deployContracts(
    client,
    {
      params: { epochSeconds },
      allocation: [{ account: deployer, amount: supply }],
      onProgress: (event) => context.stderr.write(`  ${event.step} done\n`),
    },
    options,
  )
  const network: NetworkFile = {
    format: NETWORK_FILE_FORMAT,
    name: name ?? `cairn-${chainId}`,
    chainId,
    rpc,
    contracts: deployment.contracts,
    deploymentBlock: deployment.blockNumber,
    epochSeconds: deployment.params.epochSeconds,
    bootstrap,
    allowPrivateAddresses: v.lan === true,
  }
  await assertNewFile(out)
  await writeNetworkFile(out, network)
  if (v.json === true) {
    context.stdout.write(
      `${JSON.stringify({ networkFile: out, ...network, deploymentBlock: network.deploymentBlock.toString(), deployer })}\n`,
    )
  } else {
    context.stdout.write(
      `${[
        `network ${network.name} written to ${out}`,
        `  chain     ${chainId} at ${rpc}`,
        `  token     ${network.contracts.token} (CAIRN: ${formatTokens(supply)} held by ${deployer})`,
        `  registry  ${network.contracts.registry}`,
        `  market    ${network.contracts.market}`,
        `  names     ${network.contracts.names ?? 'none'}`,
        `  block     ${network.deploymentBlock}, epochs of ${epochSeconds} s`,
        `  bootstrap ${bootstrap.length === 0 ? 'none (nodes find each other through the Registry)' : bootstrap.join(' ')}`,
      ].join('\n')}\n`,
    )
  }
  return 0
}

function requiredFlag(value: unknown, flag: string, what: string): string {
  if (typeof value !== 'string' || value === '') throw new InvalidArgumentError(`network deploy needs ${flag}: ${what}`)
  return value
}

/** The network file must not exist (it would lose the addresses of an earlier deployment) and its folder must. */
async function assertNewFile(path: string): Promise<void> {
  if (
    await stat(path).then(
      () => true,
      () => false,
    )
  ) {
    throw new InvalidArgumentError(
      `--out ${path} already exists: it may describe a network in use; move it away or choose another path`,
    )
  }
  const folder = await stat(dirname(path)).catch(() => undefined)
  if (folder === undefined || !folder.isDirectory()) {
    throw new InvalidArgumentError(`--out ${path}: the folder ${dirname(path)} does not exist; create it first`)
  }
}
