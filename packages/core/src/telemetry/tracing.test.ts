import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, startTestMcpServer, type TestMcpServer, type TestOtlpReceiver } from '../../testkit/index.ts';
import { openToolbox } from '../tools/toolbox.ts';
import { inSpan, startTracing, stopTracing } from './tracing.ts';

describe('tool call spans', () => {
  let otlp: TestOtlpReceiver;
  let mcp: TestMcpServer;

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    mcp = await startTestMcpServer();
    Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '50' });
    expect(await startTracing('conveyor-test')).toBe(true);
  });

  afterAll(async () => {
    await stopTracing();
    await mcp.close();
    await otlp.close();
  });

  it('gives each tool call an execute_tool span under the span that made it', async () => {
    const toolbox = await openToolbox([{ type: 'mcp', url: mcp.url, allowedTools: ['add'] }], { http: { allowPrivate: true }, mcp: { allowPrivate: true } });
    let parent = '';
    try {
      await inSpan('step 1', {}, async (span) => {
        parent = span!.spanContext().spanId;
        const result = await toolbox.call({ id: 'call_1', name: 'add', input: { a: 2, b: 3 }, inputText: '{"a":2,"b":3}' }, { runId: 'run_1', stepIndex: 0, toolCallId: 'call_1' });
        expect(result).toMatchObject({ output: '5', isError: false });
      });
    } finally {
      await toolbox.close();
    }
    await stopTracing();
    const span = otlp.spans.find((s) => s.name === 'execute_tool add');
    expect(span).toMatchObject({ parentSpanId: parent, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'add' } });
  });
});
