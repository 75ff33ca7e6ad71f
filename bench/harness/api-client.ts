/** Thrown when the API answers a benchmark's setup request with an unexpected status. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly path: string,
    body: string,
  ) {
    super(`${path} answered ${status}: ${body.slice(0, 4000)}`);
  }
}

export interface RunCreated {
  id: string;
  status: string;
}

/** The few API calls benchmarks make to set themselves up. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    /** The server's recent log lines, added to the error of a 5xx answer. */
    private readonly serverLog: () => string = () => '',
  ) {}

  async request<T>(method: string, path: string, body?: unknown, expected: number[] = [200, 201, 202]): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!expected.includes(response.status)) {
      const log = response.status >= 500 ? this.serverLog() : '';
      throw new ApiError(response.status, `${method} ${path}`, log ? `${text}\nserver log:\n${log}` : text);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get authorization(): string {
    return `Bearer ${this.token}`;
  }

  async createAgent(name: string, model = 'claude-sonnet-4-6'): Promise<string> {
    const agent = await this.request<{ id: string }>('POST', '/v1/agents', { name, model, maxTokens: 1024 });
    return agent.id;
  }

  /** A pipeline of `steps` steps, each using the same agent. */
  async createPipeline(name: string, agentId: string, steps: number): Promise<string> {
    const pipeline = await this.request<{ id: string }>('POST', '/v1/pipelines', {
      name,
      steps: Array.from({ length: steps }, () => ({ agentId })),
    });
    return pipeline.id;
  }

  /** An agent and a pipeline of `steps` steps: what most benchmarks need. */
  async createBenchPipeline(label: string, steps: number): Promise<string> {
    const agentId = await this.createAgent(`bench ${label} agent`);
    return this.createPipeline(`bench ${label}`, agentId, steps);
  }

  createRun(pipelineId: string, input: string): Promise<RunCreated> {
    return this.request<RunCreated>('POST', `/v1/pipelines/${pipelineId}/runs`, { input });
  }

  /** Submits `count` runs, a few dozen at a time; `input(i)` is the i-th run's input. */
  createRuns(pipelineId: string, count: number, input: (index: number) => string = () => 'bench'): Promise<RunCreated[]> {
    return mapLimit(Array.from({ length: count }, (_, i) => i), 32, (i) => this.createRun(pipelineId, input(i)));
  }
}

/** Calls `task` for each item with at most `concurrency` calls in flight; results keep the items' order. */
export async function mapLimit<T, R>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!, index);
    }
  });
  await Promise.all(lanes);
  return results;
}
