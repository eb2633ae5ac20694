import { createDbSuite, startupSuite } from './suites/create-db.ts';

createDbSuite('sqlite');
startupSuite();
