export * from './user-notifications.ts';
