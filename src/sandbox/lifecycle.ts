/**
 * The status walk after create: queued → sending → sent → delivered (or a configured failure), one
 * step every `stepMs`. Every step is due exactly `stepMs` after it was scheduled, so due times only
 * grow in scheduling order: one FIFO queue and one timer serve every message, however many.
 */
import {
  DEFAULT_MMS_PRICE,
  DEFAULT_SMS_PRICES,
  estimateSmsCost,
  type PriceTable,
} from '../channels/sms/cost.ts';
import type { FaultRule } from './faults.ts';
import type { MessageStatus, SandboxMessage } from './message-store.ts';
import { DELIVERY_ERROR_MESSAGES } from './twilio-errors.ts';
import { DEFAULT_FAILURE_ERR_CODE, receiptErrorText } from './vonage/errors.ts';

interface Step {
  status: MessageStatus;
  /** False for a stale callback sent after the resource already moved on (reordering). */
  apply: boolean;
}

interface Walk {
  due: number;
  message: SandboxMessage;
  steps: Step[];
  next: number;
  duplicate: boolean;
  errorCode: number | null;
}

export type StepListener = (message: SandboxMessage, status: MessageStatus, duplicate: boolean) => void;

export function planSteps(rule: FaultRule): Step[] {
  const final = rule.finalStatus ?? 'delivered';
  // A failed message never left Twilio, so it is not `sent` first.
  if (final === 'failed') return [step('sending'), step('failed')];
  if (rule.reorderCallbacks) return [step('sending'), step(final), { status: 'sent', apply: false }];
  return [step('sending'), step('sent'), step(final)];
}

function step(status: MessageStatus): Step {
  return { status, apply: true };
}

export class Lifecycle {
  readonly #stepMs: number;
  readonly #onStep: StepListener;
  readonly #prices: PriceTable;
  #queue: Walk[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  /** `prices` is the service's own estimate table, so the price Twilio would report and the estimate agree. */
  constructor(stepMs: number, onStep: StepListener, prices: PriceTable = DEFAULT_SMS_PRICES) {
    this.#stepMs = stepMs;
    this.#onStep = onStep;
    this.#prices = prices;
  }

  start(message: SandboxMessage, rule: FaultRule): void {
    const failing = rule.finalStatus === 'undelivered' || rule.finalStatus === 'failed';
    this.#push({
      due: 0,
      message,
      steps: planSteps(rule),
      next: 0,
      duplicate: rule.duplicateCallbacks ?? false,
      errorCode: failing ? failureCode(message, rule) : null,
    });
  }

  /** Forgets every walk in progress (the control plane's reset). */
  clear(): void {
    this.#queue = [];
    this.#head = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  get pending(): number {
    return this.#queue.length - this.#head;
  }

  #push(walk: Walk): void {
    walk.due = performance.now() + this.#stepMs;
    this.#queue.push(walk);
    if (this.#timer === undefined) this.#arm();
  }

  #arm(): void {
    const head = this.#queue[this.#head];
    if (head === undefined) {
      this.#timer = undefined;
      return;
    }
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, head.due - performance.now()));
    this.#timer.unref();
  }

  #tick(): void {
    const now = performance.now();
    while (this.#head < this.#queue.length && this.#queue[this.#head]!.due <= now) {
      const walk = this.#queue[this.#head]!;
      this.#head++;
      this.#advance(walk, now);
    }
    // Compact occasionally so the consumed prefix does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#arm();
  }

  #advance(walk: Walk, now: number): void {
    const { status, apply } = walk.steps[walk.next]!;
    walk.next++;
    if (apply) applyStatus(walk.message, status, walk.errorCode, Date.now(), this.#prices);
    this.#onStep(walk.message, status, walk.duplicate);
    if (walk.next < walk.steps.length) {
      walk.due = now + this.#stepMs;
      this.#queue.push(walk);
    }
  }
}

/** Each provider's own code table: Twilio's 30xxx, Vonage's receipt `err-code`. */
function failureCode(m: SandboxMessage, rule: FaultRule): number {
  return m.provider === 'vonage'
    ? (rule.vonageErrCode ?? DEFAULT_FAILURE_ERR_CODE)
    : (rule.errorCode ?? 30003);
}

function errorMessage(m: SandboxMessage, code: number): string | null {
  if (m.provider === 'vonage') return receiptErrorText(code);
  return DELIVERY_ERROR_MESSAGES[code as keyof typeof DELIVERY_ERROR_MESSAGES] ?? null;
}

function applyStatus(
  m: SandboxMessage,
  status: MessageStatus,
  errorCode: number | null,
  now: number,
  prices: PriceTable,
): void {
  m.status = status;
  m.dateUpdated = now;
  m.history.push({ status, at: now });
  if (status === 'sent' || status === 'delivered' || status === 'undelivered') {
    m.dateSent ??= now;
    // Twilio reports what it charged as a negative amount with five decimals (Vonage's is set at send).
    m.price ??= (-(m.numMedia > 0
      ? DEFAULT_MMS_PRICE.perSegment
      : estimateSmsCost(m.to, m.numSegments, prices).amount)).toFixed(5);
  }
  if ((status === 'undelivered' || status === 'failed') && errorCode !== null) {
    m.errorCode = errorCode;
    m.errorMessage = errorMessage(m, errorCode);
  }
}
