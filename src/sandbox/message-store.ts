/**
 * The sandbox's messages, in creation order, bounded: past `max` the oldest is dropped so a long
 * load test cannot grow memory without limit.
 */
export type MessageStatus =
  | 'queued'
  | 'sending'
  | 'sent'
  | 'delivered'
  | 'undelivered'
  | 'failed'
  | 'received';

/** Which of the sandbox's APIs took the message in (or, inbound, which one delivers it). */
export type SandboxProvider = 'twilio' | 'vonage';

/** What only a Vonage message has: one id per part (the first is the message's `sid`), India's DLT ids. */
export interface VonageDetails {
  messageIds: string[];
  /** What each part cost, as Vonage writes prices (`0.08320000`). */
  partPrice: string;
  /** MCCMNC of the destination's carrier. */
  network: string;
  entityId: string | null;
  contentId: string | null;
}

export interface SandboxMessage {
  sid: string;
  provider: SandboxProvider;
  direction: 'outbound-api' | 'inbound';
  to: string;
  from: string | null;
  body: string;
  messagingServiceSid: string | null;
  status: MessageStatus;
  numSegments: number;
  numMedia: number;
  /** The MediaUrl values of a create (an MMS), in order; empty for a text. */
  mediaUrls: string[];
  errorCode: number | null;
  errorMessage: string | null;
  price: string | null;
  /** Epoch milliseconds. */
  dateCreated: number;
  dateSent: number | null;
  dateUpdated: number;
  statusCallback: string | null;
  history: { status: MessageStatus; at: number }[];
  /** The form (or webhook) parameters exactly as exchanged, for tests and the dashboard. */
  params: Record<string, string>;
  vonage?: VonageDetails;
}

export class MessageStore {
  readonly #max: number;
  readonly #bySid = new Map<string, SandboxMessage>();

  constructor(max: number) {
    this.#max = max;
  }

  add(message: SandboxMessage): void {
    this.#bySid.set(message.sid, message);
    if (this.#bySid.size > this.#max) {
      const oldest = this.#bySid.keys().next().value;
      if (oldest !== undefined) this.#bySid.delete(oldest);
    }
  }

  get(sid: string): SandboxMessage | undefined {
    return this.#bySid.get(sid);
  }

  delete(sid: string): void {
    this.#bySid.delete(sid);
  }

  newestFirst(keep: (m: SandboxMessage) => boolean = () => true): SandboxMessage[] {
    const all = Array.from(this.#bySid.values());
    const out: SandboxMessage[] = [];
    for (let i = all.length - 1; i >= 0; i--) {
      const m = all[i]!;
      if (keep(m)) out.push(m);
    }
    return out;
  }

  clear(): void {
    this.#bySid.clear();
  }

  get size(): number {
    return this.#bySid.size;
  }
}
