// Waiting on a condition with a deadline (never a fixed sleep).

/** Polls `check` until it returns a truthy value (returned) or `timeout` ms pass (throws, naming `what`). */
export async function waitFor(check, { what, timeout = 20_000, every = 100 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, every));
  }
}
