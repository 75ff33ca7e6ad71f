import { CronExpressionParser } from 'cron-parser';

/** Why a cron or time zone cannot be used; undefined when both are fine. */
export function cronProblem(cron: string, timezone: string): { field: 'cron' | 'timezone'; message: string } | undefined {
  if (!isTimeZone(timezone)) return { field: 'timezone', message: `unknown time zone "${timezone}": use an IANA name such as "Europe/Paris" or "UTC"` };
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    return { field: 'cron', message: `needs 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), not ${fields.length}` };
  }
  try {
    CronExpressionParser.parse(cron, { tz: timezone, currentDate: new Date() }).next();
  } catch (error) {
    return { field: 'cron', message: `is not a cron expression that ever fires: ${(error as Error).message}` };
  }
  return undefined;
}

/** The next `count` fire times after `after`. */
export function nextFireTimes(cron: string, timezone: string, count: number, after = new Date()): Date[] {
  try {
    return CronExpressionParser.parse(cron, { tz: timezone, currentDate: after })
      .take(count)
      .map((date) => date.toDate());
  } catch {
    return [];
  }
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return name.length > 0;
  } catch {
    return false;
  }
}
