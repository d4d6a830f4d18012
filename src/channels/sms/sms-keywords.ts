/**
 * Twilio's default opt-out keywords (pure). Twilio matches the whole message, trimmed and
 * case-insensitive: "stop" and " STOP " opt out, "stop please" does not.
 */
export type SmsKeyword = 'STOP' | 'START' | 'HELP';

const KEYWORDS: Record<string, SmsKeyword> = {
  STOP: 'STOP',
  STOPALL: 'STOP',
  UNSUBSCRIBE: 'STOP',
  CANCEL: 'STOP',
  END: 'STOP',
  QUIT: 'STOP',
  REVOKE: 'STOP',
  OPTOUT: 'STOP',
  START: 'START',
  YES: 'START',
  UNSTOP: 'START',
  HELP: 'HELP',
  INFO: 'HELP',
};

export function matchKeyword(body: string): SmsKeyword | null {
  return KEYWORDS[body.trim().toUpperCase()] ?? null;
}

/** YES is Twilio's opt-in keyword, but after a message that asked a question it is the answer. */
export function isYes(body: string): boolean {
  return body.trim().toUpperCase() === 'YES';
}
