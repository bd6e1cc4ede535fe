/** Polls an async probe until it holds (for conditions only a new request can observe). */
export async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  await untilValue(probe, what, timeoutMs);
}

/** Polls an async probe every 50 ms until it gives a value (neither undefined nor false); that value. */
export async function untilValue<T>(
  probe: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
