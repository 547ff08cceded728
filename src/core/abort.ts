/** Tie a stream to the caller's AbortSignal, the same way for every stream in the library. */
import { setMaxListeners } from 'node:events';
import type { Stream } from 'node:stream';
import { AbortError } from './errors.js';

/**
 * A controller whose signal takes any number of listeners: every request and retry wait of a run
 * (many cursors, many partitions) listens to it, which is no leak.
 */
export function unlimitedController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * The signal a stream's requests listen to: its own controller's (aborted by `destroy()`),
 * combined with the caller's. When the caller aborts (or already has), the stream is destroyed
 * with an AbortError; once the stream closes, the caller's signal is let go. Every request and
 * retry wait adds a listener, so the listener limit is lifted (no MaxListenersExceededWarning).
 */
export function streamSignal(stream: Stream & { destroy(error?: Error): unknown }, own: AbortController, caller: AbortSignal | undefined, name: string): AbortSignal {
  setMaxListeners(0, own.signal);
  if (!caller) return own.signal;
  const combined = AbortSignal.any([caller, own.signal]);
  setMaxListeners(0, combined);
  const onAbort = () => stream.destroy(new AbortError(`${name} aborted`, { cause: caller.reason }));
  if (caller.aborted) {
    process.nextTick(onAbort);
  } else {
    caller.addEventListener('abort', onAbort, { once: true });
    stream.once('close', () => caller.removeEventListener('abort', onAbort));
  }
  return combined;
}
