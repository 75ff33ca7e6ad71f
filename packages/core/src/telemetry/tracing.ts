import { type Attributes, type Context, context, type Link, propagation, ROOT_CONTEXT, type Span, type SpanContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Logger } from '../logger.ts';

/*
 * OpenTelemetry traces, on only when an OTLP endpoint is configured (the standard OTEL_*
 * variables). Off, nothing of the SDK is loaded and every helper here calls straight through.
 */

let enabled = false;
let shutdown: (() => Promise<void>) | undefined;

const TRACER = 'conveyor';

/** A W3C trace context as carried in job data (`traceparent`, `tracestate`). */
export type TraceCarrier = Record<string, string>;

/** Whether the environment asks for traces: an OTLP endpoint, and neither OTEL_SDK_DISABLED nor OTEL_TRACES_EXPORTER=none. */
export function tracingRequested(env: Record<string, string | undefined> = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

export function tracingEnabled(): boolean {
  return enabled;
}

/**
 * Starts exporting traces over OTLP when the environment asks for it (see `tracingRequested`).
 * The exporters read the standard variables themselves (endpoint, headers, timeout); the
 * protocol is OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL: `http/protobuf` (the default) or `http/json`.
 * OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over `serviceName`; OTEL_TRACES_SAMPLER and
 * OTEL_BSP_* apply. Returns whether tracing is on.
 */
export async function startTracing(serviceName: string, options: { env?: Record<string, string | undefined>; logger?: Logger } = {}): Promise<boolean> {
  const env = options.env ?? process.env;
  if (enabled || !tracingRequested(env)) return enabled;
  const [{ BasicTracerProvider, BatchSpanProcessor }, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
  ]);
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim();
  if (protocol !== 'http/json' && protocol !== 'http/protobuf') {
    options.logger?.warn({ protocol }, 'OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf and http/json are supported; traces go out as http/protobuf');
  }
  const { OTLPTraceExporter } = protocol === 'http/json' ? await import('@opentelemetry/exporter-trace-otlp-http') : await import('@opentelemetry/exporter-trace-otlp-proto');
  const resource = resources
    .resourceFromAttributes({ 'service.name': serviceName })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  enabled = true;
  shutdown = () => provider.shutdown();
  options.logger?.info({ protocol: protocol === 'http/json' ? protocol : 'http/protobuf' }, 'tracing: spans go out over OTLP');
  return true;
}

/** Sends the spans still buffered and stops tracing (at process exit). */
export async function stopTracing(): Promise<void> {
  const stop = shutdown;
  shutdown = undefined;
  enabled = false;
  await stop?.().catch(() => undefined);
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The context to continue (e.g. one carried in a job); the active one when absent. */
  parent?: Context;
  /** Other spans this one follows from (e.g. the request that resumed a waiting run). */
  links?: Link[];
}

/**
 * Runs `work` inside a span named `name` (when tracing is on), ends it when `work` settles,
 * and records a failure as the span's error status.
 */
export async function inSpan<T>(name: string, options: SpanOptions, work: (span: Span | undefined) => Promise<T>): Promise<T> {
  if (!enabled) return work(undefined);
  const tracer = trace.getTracer(TRACER);
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}), ...(options.links ? { links: options.links } : {}) },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}

/** The active trace context, to carry in job data: `{ trace }` when tracing is on, else nothing. */
export function traceCarrier(): { trace?: TraceCarrier } {
  if (!enabled) return {};
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? { trace: carrier } : {};
}

/** The context in a carrier (job data or request headers); a new trace when it has none. */
export function contextFrom(carrier: Record<string, string | undefined> | undefined): Context {
  if (!enabled || !carrier) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/** The span context a carrier names, for a link; undefined when it names none. */
export function spanContextFrom(carrier: TraceCarrier): SpanContext | undefined {
  if (!enabled) return undefined;
  return trace.getSpanContext(propagation.extract(ROOT_CONTEXT, carrier));
}

/** The `traceparent` of a span, to return to a client. */
export function traceparentOf(span: Span | undefined): string | undefined {
  if (!span) return undefined;
  const carrier: TraceCarrier = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  return carrier.traceparent;
}

/** `traceId` and `spanId` of the active span, for log lines; empty when tracing is off. */
export function activeTraceFields(): { traceId?: string; spanId?: string } {
  if (!enabled) return {};
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}

export { SpanKind, SpanStatusCode };
