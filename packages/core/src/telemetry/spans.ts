import type { Provider } from '../providers/types.ts';
import { contextFrom, inSpan, SpanKind, spanContextFrom, type TraceCarrier, tracingEnabled } from './tracing.ts';

/*
 * The spans of a run's trace: the worker's run (continuing the submitting request's trace,
 * carried in the job), each step, each model call (GenAI semantic conventions), each tool
 * call, and each webhook delivery (continuing the trace carried in the delivery job).
 */

/**
 * One attempt of a run by a worker, child of the request that submitted it. An attempt that
 * resumes a waiting run is in the same trace and links to what resumed it.
 */
export function traceRun<T>(job: { runId: string; trace?: TraceCarrier; resumedBy?: TraceCarrier }, attempt: number, work: () => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return work();
  const resumedBy = job.resumedBy ? spanContextFrom(job.resumedBy) : undefined;
  return inSpan(
    'run',
    {
      kind: SpanKind.CONSUMER,
      parent: contextFrom(job.trace),
      ...(resumedBy ? { links: [{ context: resumedBy, attributes: { 'conveyor.link': 'resumed_by' } }] } : {}),
      attributes: { 'conveyor.run.id': job.runId, 'conveyor.run.attempt': attempt, 'messaging.system': 'bullmq', 'messaging.destination.name': 'runs', 'messaging.operation.type': 'process' },
    },
    work,
  );
}

/** One step of a run. */
export function traceStep<T>(runId: string, index: number, work: () => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return work();
  return inSpan(`step ${index + 1}`, { attributes: { 'conveyor.run.id': runId, 'conveyor.step.index': index } }, work);
}

/** A provider whose every chat call is a CLIENT span with the GenAI attributes (system, models, tokens). */
export function traceProvider(provider: Provider): Provider {
  if (!tracingEnabled()) return provider;
  return {
    id: provider.id,
    ...(provider.countInputTokens ? { countInputTokens: provider.countInputTokens.bind(provider) } : {}),
    chat: (request) =>
      inSpan(
        `chat ${request.model}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'gen_ai.operation.name': 'chat',
            'gen_ai.system': provider.id,
            'gen_ai.provider.name': provider.id,
            'gen_ai.request.model': request.model,
            ...(request.maxTokens !== undefined ? { 'gen_ai.request.max_tokens': request.maxTokens } : {}),
            ...(request.temperature !== undefined ? { 'gen_ai.request.temperature': request.temperature } : {}),
          },
        },
        async (span) => {
          const result = await provider.chat(request);
          span?.setAttributes({
            'gen_ai.response.model': result.model,
            'gen_ai.usage.input_tokens': result.usage.inputTokens,
            'gen_ai.usage.output_tokens': result.usage.outputTokens,
            ...(result.stopReason ? { 'gen_ai.response.finish_reasons': [result.stopReason] } : {}),
          });
          return result;
        },
      ),
  };
}

/** One tool call (GenAI `execute_tool`). */
export function traceToolCall<T>(name: string, work: () => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return work();
  return inSpan(`execute_tool ${name}`, { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name } }, work);
}

/** One webhook delivery attempt, in the trace of the run whose end it reports. */
export function traceWebhookDelivery<T>(job: { runId: string; eventId: string; eventType: string; trace?: TraceCarrier }, attempt: number, work: () => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return work();
  return inSpan(
    `webhook ${job.eventType}`,
    {
      kind: SpanKind.CLIENT,
      parent: contextFrom(job.trace),
      attributes: { 'conveyor.run.id': job.runId, 'conveyor.webhook.event_id': job.eventId, 'conveyor.webhook.event_type': job.eventType, 'conveyor.webhook.attempt': attempt },
    },
    work,
  );
}
