/**
 * OpenTelemetry tracing (docs/metrics.md#traces), off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (or
 * a test hands in its own exporter). On, one trace runs from the HTTP trigger (@fastify/otel's
 * request span) through the worker's attempt (its span continues the traceparent the delivery was
 * stored with) to the provider call (a client span, src/channels/provider-span.ts: Twilio, Vonage,
 * SMTP, Web Push; the HTTP ones send its traceparent in their headers).
 */
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { context, propagation, type Tracer, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-node';
import type { FastifyInstance } from 'fastify';

export interface TracingOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL (`/v1/traces` is appended, as the spec says). */
  endpoint?: string | undefined;
  serviceName: string;
  /** A test's exporter (in memory), each span exported as it ends. */
  exporter?: SpanExporter | undefined;
}

export interface Tracing {
  tracer: Tracer;
  /** Registers @fastify/otel: before any route, so every route is covered. */
  instrument(app: FastifyInstance): Promise<void>;
  /** Flushes what is buffered and unregisters the globals. */
  close(): Promise<void>;
}

/** Undefined when tracing is off (no endpoint, no exporter). */
export function startTracing(o: TracingOptions): Tracing | undefined {
  if (!o.exporter && !o.endpoint) return undefined;
  const processor = o.exporter
    ? new SimpleSpanProcessor(o.exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter({ url: `${o.endpoint!.replace(/\/+$/, '')}/v1/traces` }));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': o.serviceName }),
    spanProcessors: [processor],
  });
  // Global: the context manager (AsyncLocalStorage) carries the active span across awaits, and the
  // W3C propagator writes traceparent; the channels' provider clients find the tracer there.
  provider.register();
  return {
    tracer: provider.getTracer('laundryconnect-notify'),
    async instrument(app) {
      const instrumentation = new FastifyOtelInstrumentation();
      instrumentation.setTracerProvider(provider);
      await app.register(instrumentation.plugin());
    },
    async close() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
