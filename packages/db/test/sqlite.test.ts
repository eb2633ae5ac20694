import { createDbSuite, startupSuite } from './suites/create-db.ts';
import { seed000SchemaSuite } from './suites/seed-000-schema.ts';

createDbSuite('sqlite');
startupSuite();
seed000SchemaSuite('sqlite');
