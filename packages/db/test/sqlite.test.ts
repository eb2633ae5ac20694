import { createDbSuite, startupSuite } from './suites/create-db.ts';
import { readySuite } from './suites/ready.ts';
import { seed000SchemaSuite } from './suites/seed-000-schema.ts';

createDbSuite('sqlite');
readySuite('sqlite');
startupSuite();
seed000SchemaSuite('sqlite');
