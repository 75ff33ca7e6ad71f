import pino, { type Logger, type LoggerOptions } from 'pino';
import { activeTraceFields } from './telemetry/tracing.ts';

export type { Logger } from 'pino';

/** Paths whose values are replaced by "[redacted]" wherever they appear in a log line. */
export const redactPaths = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  '*.authorization',
  '*.apiKey',
  '*.api_key',
  '*.key',
  '*.secret',
  '*.password',
  '*.token',
  'apiKey',
  'api_key',
  'key',
  'secret',
  'password',
  'token',
  '*.headers["x-api-key"]',
  '*.headers.authorization',
];

export interface LoggerSettings {
  level?: string;
  format?: 'json' | 'pretty' | 'auto';
  name?: string;
  destination?: pino.DestinationStream;
}

/** A pino logger: JSON in production (or when piped), human-readable in a terminal. */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: settings.name ? { service: settings.name } : {},
    timestamp: pino.stdTimeFunctions.isoTime,
    // With tracing on, a line written inside a span carries its traceId and spanId.
    mixin: activeTraceFields,
  };
  if (settings.destination) return pino(options, settings.destination);
  const pretty = settings.format === 'pretty' || (settings.format !== 'json' && process.stdout.isTTY);
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino(options);
}
