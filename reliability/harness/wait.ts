/** Waiting in a scenario: for a condition, for a drain that keeps moving, or (between faults) for a random moment. */
import { setTimeout as delay } from 'node:timers/promises';

export const sleep = (ms: number): Promise<void> => delay(ms);
/** A random integer in [min, max]. */
export const between = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

/** Poll `check` every `everyMs` until it returns true or `timeoutMs` passes (then throws `label`). */
export async function until(check: () => Promise<boolean>, timeoutMs: number, label: string, everyMs = 500) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${label}`);
    await sleep(everyMs);
  }
}

/**
 * Wait until `remaining` reaches 0, failing only when it has not moved for `stallMs`: how long a
 * drain takes depends on the machine (a loaded CI box sends 18,000 status callbacks several times
 * slower than a quiet one), while "stuck" does not. A read that fails counts as no progress.
 */
export async function untilDrained(
  remaining: () => Promise<number>,
  stallMs: number,
  label: string,
  everyMs = 250,
) {
  let last = Number.POSITIVE_INFINITY;
  let movedAt = Date.now();
  for (;;) {
    const now = await remaining().catch(() => last);
    if (now === 0) return;
    if (now !== last) {
      last = now;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > stallMs) {
      throw new Error(`${label}: ${last} left, no progress for ${stallMs} ms`);
    }
    await sleep(everyMs);
  }
}
