/** What a command runs with: its streams, whether to draw progress, and the signal that Ctrl-C aborts. */
export interface CommandContext {
  stdout: NodeJS.WritableStream & { isTTY?: boolean }
  stderr: NodeJS.WriteStream
  /** Draw progress bars in place (stderr is a terminal); otherwise commands print plain progress lines. */
  showProgress: boolean
  signal: AbortSignal
}
