export * from './chat-sessions.ts';
export * from './prompts.ts';
