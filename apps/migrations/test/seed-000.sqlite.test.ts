import { seed000Suite } from './suites/seed-000.ts';

seed000Suite('sqlite');
