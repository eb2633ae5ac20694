export * from './context.ts';
export * from './repositories/index.ts';
export * from './schema/index.ts';
