import { seed004LockSuite } from './suites/seed-004.ts';

seed004LockSuite('postgres');
