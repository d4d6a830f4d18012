/** Counters the control plane reports, and the logger shape the sandbox accepts. */
export interface SandboxStats {
  created: number;
  /** Rejections by Twilio error code (validation, injected 429/5xx, create errors, auth), Vonage ones as `vonage-<status>` / `vonage-http-<code>`. */
  rejected: Record<string, number>;
  callbacksSent: number;
  callbacksFailed: number;
  /** Posted, not answered yet: with pendingSteps, what the sandbox still owes its receivers. */
  callbacksInFlight: number;
  hung: number;
  inbound: number;
}

export interface SandboxLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export const silentLogger: SandboxLogger = { info() {}, warn() {} };

export function newStats(): SandboxStats {
  return {
    created: 0,
    rejected: {},
    callbacksSent: 0,
    callbacksFailed: 0,
    callbacksInFlight: 0,
    hung: 0,
    inbound: 0,
  };
}

export function countRejection(stats: SandboxStats, code: number | string): void {
  stats.rejected[code] = (stats.rejected[code] ?? 0) + 1;
}
