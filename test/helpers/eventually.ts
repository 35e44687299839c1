/**
 * Polls `check` until it passes (for effects that complete after the response: events, logs,
 * scrapes, restarts) or `timeoutMs` runs out, then rethrows its last error. Returns what the
 * passing check returned.
 */
export async function eventually<T>(
  check: () => Promise<T>,
  timeoutMs = 5000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}
