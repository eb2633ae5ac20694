import { seed001ConversationsSuite } from './suites/seed-001-conversations.ts';

seed001ConversationsSuite('sqlite');
