import type { Abi, Address, ContractFunctionArgs, ContractFunctionName, TransactionReceipt } from 'viem'
import { acquireTransactionLock } from '#transaction-lock'
import { AbortedError, ChainError, TimeoutError } from '../errors.ts'
import { DEFAULT_TRANSACTION_TIMEOUT_MS } from './constants.ts'
import { toCairnError } from './contract-errors.ts'
import type { ChainCallOptions, ChainClient } from './interface.ts'

export interface WriteRequest<abi extends Abi, name extends ContractFunctionName<abi, 'nonpayable' | 'payable'>> {
  address: Address
  abi: abi
  functionName: name
  args: ContractFunctionArgs<abi, 'nonpayable' | 'payable', name>
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

/** The last transaction of each client: one account sends one transaction at a time, so nonces never collide. */
const queues = new WeakMap<object, Promise<unknown>>()

/**
 * Sends one contract call and waits for its receipt. The call is estimated first, so a revert is reported with its
 * decoded reason before anything is broadcast; errors become `CairnError`s. Calls on the same client are sent one
 * after the other (each waits for the previous receipt), so concurrent callers never reuse a nonce; with the client's
 * `transactionLock` (ChainClientInit.transactionLockDir), so are the calls of every process of the same wallet. A send
 * refused for a nonce already used (a sender outside the lock) is built and sent once more with a fresh nonce.
 *
 * `request` may be a function: it then runs inside the client's turn, so what it reads or signs from the account's
 * state (a permit's nonce, an allowance) cannot be used by a concurrent call of the same client first.
 */
export async function sendTransaction<
  const abi extends Abi,
  name extends ContractFunctionName<abi, 'nonpayable' | 'payable'>,
>(
  client: ChainClient,
  action: string,
  request: WriteRequest<abi, name> | (() => Promise<WriteRequest<abi, name>>),
  options: ChainCallOptions = {},
): Promise<TransactionReceipt> {
  return accountTurn(
    client,
    async () => {
      // A nonce another sender (outside this account's lock) used meanwhile: once more, with a fresh nonce.
      for (let attempt = 0; ; attempt++) {
        try {
          return await send(client, action, typeof request === 'function' ? await request() : request, options)
        } catch (error) {
          if (attempt > 0 || !(error instanceof NonceTooLow)) throw error instanceof NonceTooLow ? error.error : error
        }
      }
    },
    options,
  )
}

/**
 * Runs `turn` as the account's only sender: after the client's previous turn in this process, and holding the
 * client's transaction lock file (`transactionLock`, in the client home) against other processes of the same wallet.
 *
 * @example
 * ```ts
 * const hash = await accountTurn(client, async () => client.sendTransaction({ to, value }))
 * ```
 */
export async function accountTurn<T>(
  client: ChainClient,
  turn: () => Promise<T>,
  options: ChainCallOptions = {},
): Promise<T> {
  const previous = queues.get(client) ?? Promise.resolve()
  const next = previous
    .catch(() => {})
    .then(async () => {
      const path = client.transactionLock
      if (path === undefined) return turn()
      const release = await acquireTransactionLock(path, options.signal === undefined ? {} : { signal: options.signal })
      try {
        return await turn()
      } finally {
        await release()
      }
    })
  queues.set(client, next)
  return next
}

/** A send refused for a used nonce; `error` is what the caller sees when the retry fails too. */
class NonceTooLow extends Error {
  readonly error: unknown
  constructor(error: unknown) {
    super('nonce too low')
    this.error = error
  }
}

/** True for an RPC refusal of a nonce already used ("nonce too low", anvil: "lower than the current nonce"). */
function isNonceTooLow(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (/nonce too low|lower than the current nonce/i.test(e.message)) return true
  }
  return false
}

async function send<const abi extends Abi, name extends ContractFunctionName<abi, 'nonpayable' | 'payable'>>(
  client: ChainClient,
  action: string,
  request: WriteRequest<abi, name>,
  options: ChainCallOptions,
): Promise<TransactionReceipt> {
  const signal = AbortSignal.any([
    AbortSignal.timeout(DEFAULT_TRANSACTION_TIMEOUT_MS),
    ...(options.signal === undefined ? [] : [options.signal]),
  ])
  if (signal.aborted) throw new AbortedError(`${action} was cancelled`, { cause: signal.reason })
  try {
    // biome-ignore lint/suspicious/noExplicitAny: viem's generic write parameters do not narrow through this helper
    const hash = await abortable(client.writeContract(request as any), signal)
    const receipt = await abortable(client.waitForTransactionReceipt({ hash }), signal)
    if (receipt.status !== 'success') {
      throw new ChainError(`${action}: transaction ${hash} reverted`, { details: { hash } })
    }
    return receipt
  } catch (error) {
    if (signal.aborted && options.signal?.aborted !== true) {
      throw new TimeoutError(`${action}: not mined within ${DEFAULT_TRANSACTION_TIMEOUT_MS / 1000} s`, { cause: error })
    }
    if (isNonceTooLow(error)) throw new NonceTooLow(toCairnError(error, action, options.signal))
    throw toCairnError(error, action, options.signal)
  }
}
