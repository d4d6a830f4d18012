import { pino } from 'pino';
import pinoPretty from 'pino-pretty';
import { loggableError } from './loggable-error.ts';

export type Logger = pino.Logger;

/**
 * JSON logs with secrets removed and phone numbers masked. Redaction works by key name, so code
 * logs objects (never interpolated strings) and uses these key names for sensitive values.
 */
const SECRET_KEYS = [
  'authToken',
  'auth_token',
  'token',
  'apiKey',
  'api_key',
  'password',
  'secret',
  'apiSecret',
  'api_secret',
  'signatureSecret',
  'sig',
  'authorization',
  'Authorization',
  'x-api-key',
  'x-twilio-signature',
  'cookie',
];
const PHONE_KEYS = ['phone', 'to', 'from', 'To', 'From'];

function redactPaths(keys: string[]): string[] {
  return keys.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
}

/** `+919876543210` → `+91********10`: enough to correlate, not enough to call. */
export function maskPhoneForLog(value: unknown): string {
  if (typeof value !== 'string' || value.length < 5) return '***';
  const head = value.startsWith('+') ? value.slice(0, 3) : value.slice(0, 2);
  return head + '*'.repeat(Math.max(0, value.length - head.length - 2)) + value.slice(-2);
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'laundryconnect-notify' },
      // An error is logged as `{ err }` and never with its message: a failed query's message lists
      // its parameters (phone numbers, SIDs, names).
      serializers: { err: loggableError },
      redact: {
        paths: [...redactPaths(SECRET_KEYS), ...redactPaths(PHONE_KEYS), 'req.headers["x-api-key"]'],
        censor: (value, path) =>
          PHONE_KEYS.includes(path.at(-1) ?? '') ? maskPhoneForLog(value) : '[redacted]',
      },
    },
    destination,
  );
}

export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * Where a process's logs go: readable lines in a terminal (a person is watching `npm start`), JSON
 * otherwise (a log shipper is). Undefined means pino's own fast writer to stdout. Redaction happens
 * before either, in the logger.
 */
export function logDestination(
  format: LogFormat,
  out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
): pino.DestinationStream | undefined {
  const tty = out.isTTY === true;
  if (format === 'json' || (format === 'auto' && !tty)) return out === process.stdout ? undefined : out;
  return pinoPretty({
    destination: out,
    colorize: tty,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
  });
}
