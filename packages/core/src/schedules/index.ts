export * from './cron.ts';
export * from './queue.ts';
export * from './schedules.ts';
