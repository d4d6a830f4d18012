/**
 * The W3C traceparent of the current span, and back: how a trace crosses the queue (a delivery
 * stores its creator's, the worker continues from it; docs/metrics.md#traces). With tracing off no
 * propagator is registered, so `activeTraceParent` is undefined and nothing more is written.
 */
import { type Context, context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';

export function activeTraceParent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier['traceparent'];
}

/** The context a stored traceparent continues (the root context when there is none). */
export function contextOfTraceParent(traceParent: string | undefined): Context {
  return traceParent ? propagation.extract(ROOT_CONTEXT, { traceparent: traceParent }) : ROOT_CONTEXT;
}
