/**
 * The SMS operations of the CLI (test-sms --phone / --user-email, sms status), run on an
 * OperatorContext (operations.ts). Through a running `serve` they use its SMS backend, so a test
 * SMS reaches the sandbox that service runs, and a status is asked where the message was sent.
 */
import { sql } from 'drizzle-orm';
import { requireNotificationType } from '../catalog/catalog.ts';
import { validatePhone } from '../channels/sms/phone.ts';
import { composeSms } from '../channels/sms/sms-composer.ts';
import type { MessageStatus, SendSmsResult } from '../channels/sms/sms-service.ts';
import { maskSecret } from '../config.ts';
import { users } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import type { SmsSetup } from '../setup/sms.ts';
import { OperationRefused, type OperatorContext } from './context.ts';

/** Where the sandbox answers and its account, secrets masked (they never cross the socket whole). */
export interface SandboxInfo {
  url: string;
  account_sid: string;
  auth_token: string;
  /** Started by the process that ran the operation (serve's, or this command's own). */
  built_in: boolean;
}

export function sandboxInfo(ctx: OperatorContext, sms: SmsSetup): SandboxInfo | undefined {
  if (sms.backend !== 'sandbox') return undefined;
  const url = sms.sandbox?.url ?? ctx.config.SMS_SANDBOX_URL;
  if (!url) return undefined;
  return {
    url,
    account_sid: maskSecret(sms.accountSid),
    auth_token: maskSecret(sms.authToken),
    built_in: sms.sandbox !== undefined,
  };
}

const INVALID_PHONE = 'Invalid phone number format. Must start with + and country code.';
const NOT_CONFIGURED = 'SMS service not configured (run `test-sms --check-config` for what to set)';

export interface TestSmsSent {
  result: SendSmsResult;
  sandbox: SandboxInfo | undefined;
}

export async function testSmsToPhone(
  ctx: OperatorContext,
  input: { to: string; body: string },
  notificationId = 'TEST',
): Promise<TestSmsSent> {
  if (!validatePhone(input.to).ok) throw new OperationRefused(INVALID_PHONE);
  const sms = await ctx.sms();
  if (!sms.service.configured) throw new OperationRefused(NOT_CONFIGURED);
  const result = await sms.service.sendSms(input.to, input.body, notificationId);
  return { result, sandbox: sandboxInfo(ctx, sms) };
}

export type TestSmsToUser =
  | { kind: 'no_phone'; email: string }
  | ({
      kind: 'sent';
      type: string;
      user: { external_id: string; locale: string };
      composed: {
        encoding: string;
        characters: number;
        segments: number;
        cost: { amount: number; currency: string };
      };
      body: string;
    } & TestSmsSent);

/** The order_confirmed SMS, in the user's language, to the phone of the user with this email. */
export async function testSmsToUser(ctx: OperatorContext, input: { email: string }): Promise<TestSmsToUser> {
  const [user] = await (await ctx.db())
    .select()
    .from(users)
    .where(sql`lower(${users.email}) = lower(${input.email})`)
    .orderBy(users.id)
    .limit(1);
  if (!user) throw new OperationRefused(`No user with email ${input.email}`);
  if (!user.phone) return { kind: 'no_phone', email: user.email ?? input.email };
  if (!validatePhone(user.phone).ok) throw new OperationRefused(INVALID_PHONE);
  const type = 'order_confirmed';
  const sms = await ctx.sms();
  let composed: Awaited<ReturnType<typeof composeSms>>;
  try {
    composed = await composeSms(await ctx.templates(), sms.prices, {
      type,
      to: user.phone,
      user,
      context: requireNotificationType(type).sampleContext,
    });
  } catch (err) {
    if (err instanceof AppError) throw new OperationRefused(err.message);
    throw err;
  }
  const sent = await testSmsToPhone(ctx, { to: user.phone, body: composed.body });
  return {
    kind: 'sent',
    type,
    user: { external_id: user.externalId, locale: user.locale },
    composed: {
      encoding: composed.encoding,
      characters: composed.characters,
      segments: composed.segments,
      cost: { amount: composed.cost.amount, currency: composed.cost.currency },
    },
    body: composed.body,
    ...sent,
  };
}

export async function smsStatus(
  ctx: OperatorContext,
  input: { sid: string },
): Promise<{ status: MessageStatus; sandbox: SandboxInfo | undefined }> {
  if (!ctx.config.SMS_ENABLED) throw new OperationRefused('SMS service not configured (SMS_ENABLED=false)');
  const sms = await ctx.sms();
  if (!sms.service.configured) throw new OperationRefused(NOT_CONFIGURED);
  try {
    return { status: await sms.service.getMessageStatus(input.sid), sandbox: sandboxInfo(ctx, sms) };
  } catch (err) {
    const e = err as { code?: number; message?: string };
    if (typeof e.code === 'number') throw new OperationRefused(`Twilio error ${e.code}: ${e.message}`);
    throw new OperationRefused(e.message ?? String(err));
  }
}
