import { readmeSuite } from './suites/readme.ts';

readmeSuite('postgres');
