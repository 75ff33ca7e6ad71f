/** A strict reader of the Prometheus text exposition format (0.0.4), for tests and tools. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class PrometheusTextError extends Error {
  override name = 'PrometheusTextError';
  constructor(
    readonly lineNumber: number,
    readonly line: string,
  ) {
    super(`line ${lineNumber} is not Prometheus text: ${line}`);
  }
}

const metricName = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const labelPair = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
/** Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any letter case (prom-client writes `Nan`). */
const value = '(?:[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?|[Nn][Aa][Nn]|[-+]?[Ii][Nn][Ff])';
const sampleLine = new RegExp(`^(${metricName})(?:\\{((?:${labelPair})(?:,${labelPair})*,?)?\\})? (${value})(?: -?\\d+)?$`);
const helpLine = new RegExp(`^# HELP ${metricName} .*$`);
const typeLine = new RegExp(`^# TYPE ${metricName} (?:counter|gauge|histogram|summary|untyped)$`);
const labelReader = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/g;

/** Parses every line; throws PrometheusTextError at the first line that does not fit the format. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  text.split('\n').forEach((line, index) => {
    if (line === '' || helpLine.test(line) || typeLine.test(line)) return;
    const match = sampleLine.exec(line);
    if (!match) throw new PrometheusTextError(index + 1, line);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (match[2] ?? '').matchAll(labelReader)) {
      labels[key!] = raw!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const text = match[3]!;
    samples.push({ name: match[1]!, labels, value: /inf$/i.test(text) ? (text.startsWith('-') ? -Infinity : Infinity) : /nan/i.test(text) ? NaN : Number(text) });
  });
  return samples;
}

/** The sum of the samples named `name` whose labels include `labels`. */
export function sampleSum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, v]) => sample.labels[key] === v))
    .reduce((sum, sample) => sum + sample.value, 0);
}
