import {
  seed001ConversationsSuite,
  seed001ThreadPlansSuite,
} from './suites/seed-001-conversations.ts';

seed001ConversationsSuite('sqlite');
seed001ThreadPlansSuite('sqlite');
