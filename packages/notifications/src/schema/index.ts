export * from './email-queue.ts';
export * from './emails.ts';
export * from './user-notifications.ts';
