export * from './chat-sessions.ts';
export * from './conversations.ts';
export * from './messages.ts';
export * from './prompts.ts';
export * from './shared-memory.ts';
