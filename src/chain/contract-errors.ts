/**
 * Turns a failed contract call into one of the project's error classes with a message a user can act on: the revert
 * data is decoded against the errors of every Cairn contract (and OpenZeppelin's), whichever contract raised it.
 */
import { BaseError, decodeErrorResult, formatUnits, type Hex } from 'viem'
import {
  AbortedError,
  CairnError,
  ChainError,
  InsufficientFundsError,
  InvalidArgumentError,
  NotFoundError,
  TimeoutError,
  UnauthorizedError,
  UnreachableError,
} from '../errors.ts'
import { TOKEN_DECIMALS, TOKEN_SYMBOL } from './constants.ts'
import { cairnTokenAbi, marketAbi, namesAbi, registryAbi } from './generated/index.ts'

type ErrorItem = Extract<(typeof marketAbi)[number], { type: 'error' }>

const errorAbi = (() => {
  const seen = new Set<string>()
  const items: ErrorItem[] = []
  for (const item of [...marketAbi, ...registryAbi, ...cairnTokenAbi, ...namesAbi]) {
    if (item.type !== 'error' || seen.has(item.name)) continue
    seen.add(item.name)
    items.push(item as ErrorItem)
  }
  return items
})()

const NODE_STATUS = ['none', 'active', 'jailed', 'unbonding', 'exited']
const SLOT_STATE = ['pending', 'active', 'open']

function tokens(amount: unknown): string {
  return `${formatUnits(BigInt(amount as bigint), TOKEN_DECIMALS)} ${TOKEN_SYMBOL}`
}

type ErrorClass = new (message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) => CairnError

/** The class and message for a decoded custom error. */
function describe(name: string, a: readonly unknown[]): [ErrorClass, string] {
  switch (name) {
    case 'ERC20InsufficientAllowance':
      return [
        InsufficientFundsError,
        `insufficient allowance: approve ${tokens(a[2])} first (the allowance is ${tokens(a[1])})`,
      ]
    case 'ERC20InsufficientBalance':
      return [
        InsufficientFundsError,
        `insufficient balance: the payment needs ${tokens(a[2])}, you have ${tokens(a[1])}`,
      ]
    case 'ERC2612ExpiredSignature':
      return [InvalidArgumentError, `the permit expired at ${a[0]}: sign a new one`]
    case 'ERC2612InvalidSigner':
      return [UnauthorizedError, `the permit was signed by ${a[0]}, not by the owner ${a[1]}`]
    case 'StakeBelowMinimum':
      return [InsufficientFundsError, `stake ${tokens(a[0])} is below the minimum of ${tokens(a[1])}`]
    case 'AlreadyRegistered':
      return [InvalidArgumentError, `node ${a[0]} is already registered`]
    case 'NotRegistered':
      return [NotFoundError, `${a[0]} is not a registered node: register first`]
    case 'ZeroAmount':
      return [InvalidArgumentError, 'the amount must be greater than zero']
    case 'InvalidPeerId':
      return [InvalidArgumentError, `the peer ID must be 1 to 128 bytes, got ${a[0]}`]
    case 'TooManyMultiaddrs':
      return [InvalidArgumentError, `too many multiaddrs: ${a[0]} (at most ${a[1]})`]
    case 'MultiaddrTooLong':
      return [InvalidArgumentError, `multiaddr ${a[0]} has ${a[1]} bytes: each must have 1 to ${a[2]}`]
    case 'WrongStatus':
      return [
        ChainError,
        `node ${a[0]} is ${NODE_STATUS[Number(a[1])] ?? a[1]}: the call is not allowed in that status`,
      ]
    case 'UnbondingNotDue':
      return [ChainError, `the stake unlocks at ${new Date(Number(a[0]) * 1000).toISOString()}: wait until then`]
    case 'SlotsStillHeld':
      return [ChainError, `node ${a[0]} still holds ${a[1]} slot(s): wait for their deals to end and close them`]
    case 'NotMarket':
    case 'NotDeployer':
    case 'NotMinter':
      return [UnauthorizedError, `${a[0]} may not call this (${name})`]
    case 'MarketAlreadySet':
    case 'MinterAlreadySet':
      return [ChainError, `already set to ${a[0]}`]
    case 'DealNotFound':
      return [NotFoundError, `deal ${a[0]} does not exist`]
    case 'SlotNotFound':
      return [NotFoundError, `deal ${a[0]} has no slot ${a[1]}`]
    case 'InvalidRedundancy':
      return [InvalidArgumentError, `invalid redundancy k=${a[0]} n=${a[1]}: need 1 <= k <= n <= 64`]
    case 'SlotCountMismatch':
      return [InvalidArgumentError, `slot lists differ in length: ${a[0]} roots, ${a[1]} sizes, ${a[2]} nodes`]
    case 'InvalidManifestCid':
      return [InvalidArgumentError, `the manifest CID must be 1 to 128 bytes, got ${a[0]}`]
    case 'ZeroDuration':
      return [InvalidArgumentError, 'the duration must be at least one epoch']
    case 'NodeNotActive':
      return [ChainError, `node ${a[0]} is not an active registered node`]
    case 'DuplicateNode':
      return [InvalidArgumentError, `node ${a[0]} is named for two slots: every slot needs a distinct node`]
    case 'DuplicateOperator':
      return [
        InvalidArgumentError,
        `nodes ${a[1]} and ${a[2]} share the operator ${a[0]}: every slot of a deal needs a distinct operator, pick another node`,
      ]
    case 'SlotCapReached':
      return [ChainError, `node ${a[0]} already holds ${a[1]} slots, the most one node may hold (${a[2]})`]
    case 'ResponseWindowClosed':
      return [
        ChainError,
        `the response window of epoch ${a[0]} closed at block ${a[2]} (seed drawn in block ${a[1]}): prove within the window after the seed is drawn`,
      ]
    case 'SlotNotAccepted':
      return [
        UnauthorizedError,
        `node ${a[0]} did not accept slot ${a[1]} (${a[2]}): ask the node to sign its acceptance of these exact terms (cairn put does this over /cairn/slot-accept/1.0.0)`,
      ]
    case 'OperatorNotProposed':
      return [UnauthorizedError, `node ${a[0]} did not name ${a[1]} as its operator: the node calls setOperator first`]
    case 'PriceAboveMax':
      return [
        InsufficientFundsError,
        `node ${a[0]} asks ${a[1]} per byte per epoch, above the deal's maximum of ${a[2]}: raise the maximum or pick another node`,
      ]
    case 'NotSlotHolder':
      return [UnauthorizedError, `${a[2]} does not hold slot ${a[1]} of deal ${a[0]}`]
    case 'WrongSlotState':
      return [
        ChainError,
        `slot ${a[1]} of deal ${a[0]} is ${SLOT_STATE[Number(a[2])] ?? a[2]}: the call is not allowed`,
      ]
    case 'DealHasEnded':
      return [ChainError, `deal ${a[0]} has ended (its last epoch was ${Number(a[1]) - 1})`]
    case 'DealNotStarted':
      return [ChainError, `deal ${a[0]} starts at epoch ${a[1]}: prove from then on`]
    case 'DealNotEnded':
      return [ChainError, `deal ${a[0]} runs until epoch ${Number(a[1]) - 1}: close it after that`]
    case 'DealAlreadyClosed':
      return [ChainError, `deal ${a[0]} is already closed`]
    case 'NotDealOwner':
      return [UnauthorizedError, `${a[1]} does not own deal ${a[0]}`]
    case 'NothingToShorten':
      return [ChainError, `deal ${a[0]} already ends after the current epoch`]
    case 'SeedNotDrawn':
      return [ChainError, `the challenge seed of epoch ${a[0]} is not drawn yet: call drawSeed first`]
    case 'EpochAlreadyProven':
      return [ChainError, `slot ${a[1]} of deal ${a[0]} has already been proven for epoch ${a[2]}`]
    case 'InvalidLeafLength':
      return [InvalidArgumentError, `the challenged leaf must be ${a[0]} bytes, got ${a[1]}`]
    case 'InvalidProof':
      return [ChainError, `invalid proof for leaf ${a[3]} of slot ${a[1]} of deal ${a[0]} in epoch ${a[2]}`]
    case 'NothingToReport':
      return [ChainError, `slot ${a[1]} of deal ${a[0]} has no missed epoch to report (next epoch ${a[2]})`]
    case 'FormerHolderCannotRepair':
      return [UnauthorizedError, `${a[2]} lost slot ${a[1]} of deal ${a[0]} and may not repair it`]
    case 'NothingToWithdraw':
      return [ChainError, `${a[0]} has nothing to withdraw`]
    case 'InvalidParams':
      return [InvalidArgumentError, `invalid contract parameters: ${a[0]}`]
    case 'ReentrancyGuardReentrantCall':
      return [ChainError, 're-entrant call rejected']
    case 'SafeERC20FailedOperation':
      return [ChainError, `token ${a[0]} refused the transfer`]
    default:
      return [ChainError, `the contract reverted with ${name}(${a.map(String).join(', ')})`]
  }
}

function revertData(error: BaseError): Hex | undefined {
  let data: Hex | undefined
  error.walk((e) => {
    const candidate = (e as { data?: unknown }).data
    if (typeof candidate === 'string' && candidate.startsWith('0x') && candidate.length >= 10) {
      data = candidate as Hex
      return true
    }
    if (candidate !== null && typeof candidate === 'object' && 'data' in candidate) {
      const inner = (candidate as { data?: unknown }).data
      if (typeof inner === 'string' && inner.startsWith('0x') && inner.length >= 10) {
        data = inner as Hex
        return true
      }
    }
    return false
  })
  return data
}

/** The decoded custom error of a failed call, if the revert data names one of the Cairn (or OpenZeppelin) errors. */
export function decodeRevert(error: unknown): { errorName: string; args: readonly unknown[] } | undefined {
  if (!(error instanceof BaseError)) return undefined
  const data = revertData(error)
  if (data === undefined) return undefined
  try {
    const decoded = decodeErrorResult({ abi: errorAbi, data })
    return { errorName: decoded.errorName, args: decoded.args ?? [] }
  } catch {
    return undefined
  }
}

function decodedError(
  decoded: { errorName: string; args: readonly unknown[] },
  action: string,
  cause: unknown,
): CairnError {
  const [ErrorType, message] = describe(decoded.errorName, decoded.args)
  return new ErrorType(`${action}: ${message}`, {
    cause,
    details: {
      errorName: decoded.errorName,
      args: decoded.args.map((x) => (typeof x === 'bigint' ? x.toString() : x)),
    },
  })
}

/**
 * Turns the raw ABI-encoded custom error a contract reported without reverting (the `reason` of the Market's
 * `ProofRejected` event) into the same `CairnError` a revert with that error gives.
 *
 * @example
 * ```ts
 * const error = revertDataToError(log.args.reason, 'submitProofs') // e.g. ChainError "submitProofs: invalid proof ..."
 * ```
 */
export function revertDataToError(data: Hex, action: string): CairnError {
  try {
    const decoded = decodeErrorResult({ abi: errorAbi, data })
    return decodedError({ errorName: decoded.errorName, args: decoded.args ?? [] }, action, undefined)
  } catch (error) {
    return new ChainError(`${action}: the contract rejected the call with undecodable data ${data}`, { cause: error })
  }
}

/**
 * Converts anything a chain call threw into a `CairnError`: decoded contract errors get their own class and message
 * (`details.errorName` and `details.args` keep the raw facts); network failures become `UnreachableError`.
 *
 * @example
 * ```ts
 * try { await createDeal(client, params) } catch (err) { throw toCairnError(err, 'createDeal') }
 * ```
 */
export function toCairnError(error: unknown, action: string, signal?: AbortSignal): CairnError {
  if (error instanceof CairnError) return error
  if (signal?.aborted === true) return new AbortedError(`${action} was cancelled`, { cause: error })
  const decoded = decodeRevert(error)
  if (decoded !== undefined) return decodedError(decoded, action, error)
  if (error instanceof BaseError) {
    const name = error.walk((e) => (e as Error).name === 'HttpRequestError' || (e as Error).name === 'TimeoutError')
    if (name !== null && (name as Error).name === 'TimeoutError') {
      return new TimeoutError(`${action}: the chain did not answer in time`, { cause: error })
    }
    if (name !== null)
      return new UnreachableError(`${action}: the chain RPC is unreachable (${error.shortMessage})`, { cause: error })
    if (/insufficient funds/i.test(error.message)) {
      return new InsufficientFundsError(`${action}: not enough ether for gas`, { cause: error })
    }
    return new ChainError(`${action}: ${error.shortMessage}`, { cause: error })
  }
  return new ChainError(`${action}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
}
