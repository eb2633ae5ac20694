import { createDbSuite } from './suites/create-db.ts';

createDbSuite('postgres');
