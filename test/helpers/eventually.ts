/**
 * Waits for a condition the system reaches asynchronously, polling every 50 ms, at most
 * `attempts` times. A bounded wait, not a timing assertion: it fails only if the condition is
 * never reached.
 */
export async function eventually(check: () => boolean | Promise<boolean>, attempts = 100): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not reached');
}
