// The error a merge rejects with when its signal aborts. Callers recognise it
// by `name === 'AbortError'`, the same as a fetch or a Node stream abort.

/** `signal.reason` when it already is an AbortError (the default reason), else a new one with the reason as cause. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  const error = new Error('The merge was aborted', { cause: reason });
  error.name = 'AbortError';
  return Object.assign(error, { code: 'ABORT_ERR' });
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(signal);
}
