import { formatByteSize } from '../node/index.ts'

export interface ProgressBarInit {
  label: string
  /** Total bytes, or undefined when unknown (stdin): the bar then shows bytes and speed only. */
  total?: number
  /** Where to draw: a terminal stream. */
  stream: NodeJS.WriteStream
  /** Smallest delay between redraws. */
  intervalMs?: number
  /**
   * The stream is not a terminal (a log, a pipe): write a plain line at most every `plainIntervalMs` (and on notes and
   * at the end) instead of redrawing one line in place.
   */
  plain?: boolean
  /** Smallest delay between plain lines (default 5 s). */
  plainIntervalMs?: number
  now?: () => number
}

/**
 * A one-line progress bar redrawn in place on a terminal: label, bar, percent, bytes, speed.
 *
 * @example
 * ```ts
 * const bar = new ProgressBar({ label: 'put', total: size, stream: process.stderr })
 * bar.update(done)
 * bar.finish()
 * ```
 */
export class ProgressBar {
  readonly #init: ProgressBarInit
  readonly #started: number
  #last = 0
  #current = 0
  #total: number | undefined
  #note = ''

  constructor(init: ProgressBarInit) {
    this.#init = init
    this.#total = init.total
    this.#started = (init.now ?? Date.now)()
  }

  setTotal(total: number): void {
    this.#total = total
  }

  note(text: string): void {
    this.#note = text
    this.#draw(true)
  }

  update(current: number): void {
    this.#current = current
    this.#draw(false)
  }

  finish(): void {
    if (this.#total !== undefined) this.#current = Math.max(this.#current, this.#total)
    this.#draw(true)
    if (this.#init.plain !== true) this.#init.stream.write('\n')
  }

  /** Clears the line (before printing an error). */
  clear(): void {
    if (this.#init.plain !== true) this.#init.stream.write('\r\x1b[2K')
  }

  render(width: number): string {
    const now = (this.#init.now ?? Date.now)()
    const seconds = Math.max((now - this.#started) / 1000, 1e-3)
    const speed = `${formatByteSize(this.#current / seconds)}/s`
    const total = this.#total
    const note = this.#note === '' ? '' : ` ${this.#note}`
    if (total === undefined || total === 0) {
      return `${this.#init.label} ${formatByteSize(this.#current)} ${speed}${note}`
    }
    const ratio = Math.min(1, this.#current / total)
    const text = ` ${(ratio * 100).toFixed(0).padStart(3)}% ${formatByteSize(this.#current)}/${formatByteSize(total)} ${speed}${note}`
    if (this.#init.plain === true) return `${this.#init.label}${text}`
    const barWidth = Math.max(10, Math.min(40, width - this.#init.label.length - text.length - 4))
    const filled = Math.round(ratio * barWidth)
    return `${this.#init.label} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${text}`
  }

  #draw(force: boolean): void {
    const now = (this.#init.now ?? Date.now)()
    const plain = this.#init.plain === true
    const interval = plain ? (this.#init.plainIntervalMs ?? 5_000) : (this.#init.intervalMs ?? 100)
    // Plain lines start one interval in: a put that fails or finishes at once prints only its result.
    const last = plain && this.#last === 0 ? this.#started : this.#last
    if (!force && now - last < interval) return
    this.#last = now
    if (plain) {
      this.#init.stream.write(`${this.render(80)}\n`)
      return
    }
    const width = this.#init.stream.columns ?? 80
    this.#init.stream.write(`\r\x1b[2K${this.render(width).slice(0, width - 1)}`)
  }
}
