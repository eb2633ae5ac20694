import { seed003Suite } from './suites/seed-003.ts';

seed003Suite('postgres');
