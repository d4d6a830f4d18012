/**
 * A provider call (Twilio, Vonage, SMTP, Web Push) as an OpenTelemetry client span, child of the
 * span active around it: the worker's attempt, which continues the delivery's stored traceparent
 * (docs/metrics.md#traces). With tracing off there is no recording span, and the call is made
 * as is. `call` gets the headers that carry the span's traceparent, for an HTTP call that can send
 * them; `answered` reads the answer into the span (a status code; an error status).
 */
import {
  type Attributes,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';

export async function providerSpan<T>(
  name: string,
  attributes: Attributes,
  call: (traceHeaders: Record<string, string>) => Promise<T>,
  answered?: (result: T, span: Span) => void,
): Promise<T> {
  if (!trace.getActiveSpan()?.isRecording()) return call({});
  return trace
    .getTracer('laundryconnect-notify')
    .startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
      const headers: Record<string, string> = {};
      propagation.inject(context.active(), headers);
      try {
        const result = await call(headers);
        answered?.(result, span);
        return result;
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    });
}

/** An HTTP answer's status on the span: its code, and an error status from 400 up. */
export function httpAnswered(status: number, span: Span): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
}
