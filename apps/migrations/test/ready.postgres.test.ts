import { readySuite } from './suites/ready.ts';

readySuite('postgres');
