export * from './repositories/index.ts';
export * from './schema/index.ts';
