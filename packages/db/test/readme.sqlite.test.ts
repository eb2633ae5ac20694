import { readmeSuite, readmeTypecheckSuite } from './suites/readme.ts';

readmeTypecheckSuite();
readmeSuite('sqlite');
