import { type Address, getAddress } from 'viem'
import { InvalidArgumentError } from '../errors.ts'
import {
  DEFAULT_CONFIRMATION_FEE,
  DEFAULT_EPOCH_SECONDS,
  DEFAULT_HALVING_EPOCHS,
  DEFAULT_INITIAL_EMISSION,
  DEFAULT_MAX_MISSES,
  DEFAULT_MAX_SLOTS_PER_NODE,
  DEFAULT_MIN_PAYMENT_PER_SLOT_EPOCH,
  DEFAULT_MIN_STAKE,
  DEFAULT_PROTOCOL_FEE_BPS,
  DEFAULT_RESPONSE_WINDOW_BLOCKS,
  DEFAULT_REWARD_SHARE_BPS,
  DEFAULT_SLASH_PER_MISS,
  DEFAULT_UNBONDING_DELAY_SECONDS,
} from './constants.ts'
import { toCairnError } from './contract-errors.ts'
import {
  cairnTokenAbi,
  cairnTokenBytecode,
  marketAbi,
  marketBytecode,
  namesAbi,
  namesBytecode,
  registryAbi,
  registryBytecode,
} from './generated/index.ts'
import type { ChainCallOptions, ChainClient, ChainParams, Deployment } from './interface.ts'
import { sendTransaction } from './transaction.ts'

export interface DeployInit {
  params?: Partial<ChainParams>
  /** Genesis allocation of CAIRN (the only tokens not minted by the Market). */
  allocation?: Array<{ account: Address; amount: bigint }>
  /** Progress: one event per deployed contract or configuration transaction. */
  onProgress?: (event: { type: 'chain:deploy'; step: string }) => void
}

/** The production defaults, overridden by `params`. */
export function chainParams(params: Partial<ChainParams> = {}): ChainParams {
  const p: ChainParams = {
    epochSeconds: params.epochSeconds ?? DEFAULT_EPOCH_SECONDS,
    minStake: params.minStake ?? DEFAULT_MIN_STAKE,
    unbondingDelaySeconds: params.unbondingDelaySeconds ?? DEFAULT_UNBONDING_DELAY_SECONDS,
    maxMisses: params.maxMisses ?? DEFAULT_MAX_MISSES,
    slashPerMiss: params.slashPerMiss ?? DEFAULT_SLASH_PER_MISS,
    initialEmission: params.initialEmission ?? DEFAULT_INITIAL_EMISSION,
    halvingEpochs: params.halvingEpochs ?? DEFAULT_HALVING_EPOCHS,
    protocolFeeBps: params.protocolFeeBps ?? DEFAULT_PROTOCOL_FEE_BPS,
    rewardShareBps: params.rewardShareBps ?? DEFAULT_REWARD_SHARE_BPS,
    minPaymentPerSlotEpoch: params.minPaymentPerSlotEpoch ?? DEFAULT_MIN_PAYMENT_PER_SLOT_EPOCH,
    maxSlotsPerNode: params.maxSlotsPerNode ?? DEFAULT_MAX_SLOTS_PER_NODE,
    responseWindowBlocks: params.responseWindowBlocks ?? DEFAULT_RESPONSE_WINDOW_BLOCKS,
    confirmationFee: params.confirmationFee ?? DEFAULT_CONFIRMATION_FEE,
  }
  if (!Number.isInteger(p.epochSeconds) || p.epochSeconds < 1) {
    throw new InvalidArgumentError(`epochSeconds must be a positive integer, got ${p.epochSeconds}`)
  }
  if (!Number.isInteger(p.maxMisses) || p.maxMisses < 1 || p.maxMisses > 65_535) {
    throw new InvalidArgumentError(`maxMisses must be 1..65535, got ${p.maxMisses}`)
  }
  if (!Number.isInteger(p.halvingEpochs) || p.halvingEpochs < 1) {
    throw new InvalidArgumentError(`halvingEpochs must be a positive integer, got ${p.halvingEpochs}`)
  }
  if (!Number.isInteger(p.protocolFeeBps) || p.protocolFeeBps < 1 || p.protocolFeeBps > 65_535) {
    throw new InvalidArgumentError(
      `protocolFeeBps must be 1..65535 (a fee of zero lets self-dealers mint), got ${p.protocolFeeBps}`,
    )
  }
  if (!Number.isInteger(p.rewardShareBps) || p.rewardShareBps < 0 || p.rewardShareBps >= 10_000) {
    throw new InvalidArgumentError(
      `rewardShareBps must be 0..9999 (rewards must stay below the fees burned), got ${p.rewardShareBps}`,
    )
  }
  if (p.minPaymentPerSlotEpoch < 1n) {
    throw new InvalidArgumentError(
      `minPaymentPerSlotEpoch must be at least 1 (a free deal earns nothing and costs a node gas), got ${p.minPaymentPerSlotEpoch}`,
    )
  }
  if (p.confirmationFee < 0n) {
    throw new InvalidArgumentError(`confirmationFee must be 0 or more, got ${p.confirmationFee}`)
  }
  for (const key of ['maxSlotsPerNode', 'responseWindowBlocks'] as const) {
    if (!Number.isInteger(p[key]) || p[key] < 1 || p[key] >= 2 ** 32) {
      throw new InvalidArgumentError(`${key} must be a positive 32-bit integer, got ${p[key]}`)
    }
  }
  return p
}

async function deploy(
  client: ChainClient,
  step: string,
  request: Parameters<ChainClient['deployContract']>[0],
  options: ChainCallOptions,
) {
  try {
    const hash = await client.deployContract(request)
    const receipt = await client.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success' || receipt.contractAddress == null) {
      throw new InvalidArgumentError(`${step}: deployment transaction ${hash} failed`)
    }
    return receipt
  } catch (error) {
    throw toCairnError(error, step, options.signal)
  }
}

/** A deployment of this cairn: the three contracts and the Names contract (`contracts.names`). */
export type NamedDeployment = Deployment & { contracts: Deployment['contracts'] & { names: Address } }

/**
 * Deploys Token, Registry, Market and Names on any EVM chain from the client's account, links them (the Market
 * becomes the token's only minter and the Registry's slasher) and returns the addresses to save.
 *
 * @example
 * ```ts
 * const deployment = await deployContracts(client, { params: { epochSeconds: 3600 },
 *   allocation: [{ account: treasury, amount: 10n ** 27n }] })
 * ```
 */
export async function deployContracts(
  client: ChainClient,
  init: DeployInit = {},
  options: ChainCallOptions = {},
): Promise<NamedDeployment> {
  const params = chainParams(init.params)
  const allocation = init.allocation ?? []
  const progress = (step: string) => init.onProgress?.({ type: 'chain:deploy', step })
  const token = await deploy(
    client,
    'deploy CairnToken',
    {
      abi: cairnTokenAbi,
      bytecode: cairnTokenBytecode,
      args: [allocation.map((a) => a.account), allocation.map((a) => a.amount)],
    } as Parameters<ChainClient['deployContract']>[0],
    options,
  )
  progress('token')
  const registry = await deploy(
    client,
    'deploy Registry',
    {
      abi: registryAbi,
      bytecode: registryBytecode,
      args: [token.contractAddress!, params.minStake, BigInt(params.unbondingDelaySeconds)],
    } as Parameters<ChainClient['deployContract']>[0],
    options,
  )
  progress('registry')
  const market = await deploy(
    client,
    'deploy Market',
    {
      abi: marketAbi,
      bytecode: marketBytecode,
      args: [
        token.contractAddress!,
        registry.contractAddress!,
        {
          epochSeconds: BigInt(params.epochSeconds),
          genesis: 0n,
          maxMisses: params.maxMisses,
          slashPerMiss: params.slashPerMiss,
          initialEmission: params.initialEmission,
          halvingEpochs: BigInt(params.halvingEpochs),
          protocolFeeBps: params.protocolFeeBps,
          rewardShareBps: params.rewardShareBps,
          minPaymentPerSlotEpoch: params.minPaymentPerSlotEpoch,
          maxSlotsPerNode: params.maxSlotsPerNode,
          responseWindowBlocks: params.responseWindowBlocks,
          confirmationFee: params.confirmationFee,
        },
      ],
    } as Parameters<ChainClient['deployContract']>[0],
    options,
  )
  progress('market')
  const names = await deploy(
    client,
    'deploy Names',
    { abi: namesAbi, bytecode: namesBytecode, args: [] } as Parameters<ChainClient['deployContract']>[0],
    options,
  )
  progress('names')
  const contracts = {
    token: getAddress(token.contractAddress!),
    registry: getAddress(registry.contractAddress!),
    market: getAddress(market.contractAddress!),
    names: getAddress(names.contractAddress!),
  }
  await sendTransaction(
    client,
    'setMinter',
    { address: contracts.token, abi: cairnTokenAbi, functionName: 'setMinter', args: [contracts.market] },
    options,
  )
  await sendTransaction(
    client,
    'setMarket',
    { address: contracts.registry, abi: registryAbi, functionName: 'setMarket', args: [contracts.market] },
    options,
  )
  progress('linked')
  const genesis = await client.readContract({ address: contracts.market, abi: marketAbi, functionName: 'genesis' })
  return {
    chainId: client.chain.id,
    contracts,
    params,
    genesis: Number(genesis),
    blockNumber: market.blockNumber,
    allocation,
  }
}
