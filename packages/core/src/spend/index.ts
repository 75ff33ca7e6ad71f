export * from './spend.ts';
