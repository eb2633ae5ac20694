import { seed004LockSuite, seed004OperationsSuite } from './suites/seed-004.ts';

seed004LockSuite('postgres');
seed004OperationsSuite('postgres');
