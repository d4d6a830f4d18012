/**
 * Whether one provider is in rotation. A provider failing outright (connection refused, an auth
 * error, N 5xx answers or timeouts in a row) leaves at once; after a backoff ONE request is let
 * through as a probe: success brings it back, failure (or no outcome in time) doubles the backoff,
 * up to its cap. Pure: the caller passes the time.
 *
 * Outcomes reported while a provider is out are the stragglers of requests sent before it left;
 * while it is probing, the next outcome is taken as the probe's answer. A straggler could only be
 * mistaken for it if it outlived the backoff (30 s at first), and a send times out sooner
 * (SMS_REQUEST_TIMEOUT_MS, 15 s): keep probeBackoffMs above that timeout.
 */
import type { RequestOutcome } from './provider-answer.ts';
import type { HealthSettings } from './routing-config.ts';

export type RotationState =
  | { state: 'in' }
  | { state: 'out'; since: number; cause: string; backoffMs: number; probeAt: number }
  | { state: 'probing'; since: number; cause: string; backoffMs: number; probeStartedAt: number };

export interface RotationChange {
  from: RotationState['state'];
  to: RotationState['state'];
  reason: string;
}

type Settings = Pick<
  HealthSettings,
  'consecutiveServerFailures' | 'probeBackoffMs' | 'probeBackoffMaxMs' | 'probeTimeoutMs'
>;

const OUTRIGHT: Partial<Record<RequestOutcome, string>> = {
  connection_refused: 'connection refused',
  auth_error: 'auth error',
};

export class Rotation {
  readonly #s: Settings;
  #state: RotationState = { state: 'in' };
  #serverFailures = 0;

  constructor(settings: Settings) {
    this.#s = settings;
  }

  get state(): RotationState {
    return this.#state;
  }

  /** Why it is out of rotation (while out or probing), or null. */
  get cause(): string | null {
    return this.#state.state === 'in' ? null : this.#state.cause;
  }

  /** A request's outcome; returns the change of rotation it caused, if any. */
  record(now: number, outcome: RequestOutcome): RotationChange | null {
    const serverFailure = outcome === 'server_error' || outcome === 'timeout';
    this.#serverFailures = serverFailure ? this.#serverFailures + 1 : 0;
    const current = this.#state;
    if (current.state === 'probing') {
      if (outcome === 'ok' || outcome === 'recipient_error') {
        this.#state = { state: 'in' };
        return { from: 'probing', to: 'in', reason: `probe succeeded (${outcome})` };
      }
      return this.#probeFailed(now, current, `probe failed (${outcome})`);
    }
    if (current.state === 'out') return null;
    const cause =
      OUTRIGHT[outcome] ??
      (this.#serverFailures >= this.#s.consecutiveServerFailures
        ? `${this.#serverFailures} 5xx/timeouts in a row`
        : undefined);
    if (!cause) return null;
    const backoffMs = this.#s.probeBackoffMs;
    this.#state = { state: 'out', since: now, cause, backoffMs, probeAt: now + backoffMs };
    return { from: 'in', to: 'out', reason: cause };
  }

  /** Out, and its backoff is over: the next request for it may be its probe. */
  probeDue(now: number): boolean {
    return this.#state.state === 'out' && now >= this.#state.probeAt;
  }

  startProbe(now: number): RotationChange {
    const current = this.#state;
    if (current.state !== 'out') throw new Error(`no probe to start: the provider is ${current.state}`);
    this.#state = {
      state: 'probing',
      since: current.since,
      cause: current.cause,
      backoffMs: current.backoffMs,
      probeStartedAt: now,
    };
    return { from: 'out', to: 'probing', reason: `probe after ${current.backoffMs / 1000} s out` };
  }

  /** A probe with no reported outcome within `probeTimeoutMs` counts as failed. */
  expireProbe(now: number): RotationChange | null {
    const current = this.#state;
    if (current.state !== 'probing' || now - current.probeStartedAt < this.#s.probeTimeoutMs) return null;
    return this.#probeFailed(now, current, 'probe got no outcome in time');
  }

  #probeFailed(now: number, probing: RotationState & { state: 'probing' }, reason: string): RotationChange {
    const backoffMs = Math.min(probing.backoffMs * 2, this.#s.probeBackoffMaxMs);
    this.#state = {
      state: 'out',
      since: probing.since,
      cause: probing.cause,
      backoffMs,
      probeAt: now + backoffMs,
    };
    return { from: 'probing', to: 'out', reason: `${reason}; next probe in ${backoffMs / 1000} s` };
  }
}
