import { seed001Suite } from './suites/seed-001.ts';

seed001Suite('sqlite');
