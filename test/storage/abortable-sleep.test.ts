import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { it } from 'node:test'
import { abortableSleep } from '../../src/storage/index.ts'

it('waits the whole time when nothing aborts, with or without a signal', async () => {
  const controller = new AbortController()
  for (const signal of [undefined, controller.signal]) {
    const started = performance.now()
    await abortableSleep(30, signal)
    assert.ok(performance.now() - started >= 25)
  }
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0)
})

it('resolves early (never rejects) when the signal aborts, and removes its listener', async () => {
  const controller = new AbortController()
  const started = performance.now()
  const sleeping = abortableSleep(60_000, controller.signal)
  assert.equal(getEventListeners(controller.signal, 'abort').length, 1)
  setTimeout(() => controller.abort(new Error('stop')), 10)
  await sleeping
  assert.ok(performance.now() - started < 5_000)
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0)
})

it('resolves at once on a signal that has already aborted, leaving no timer behind', async () => {
  const started = performance.now()
  await abortableSleep(60_000, AbortSignal.abort())
  assert.ok(performance.now() - started < 1_000)
})
