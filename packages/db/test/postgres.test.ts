import { createDbSuite } from './suites/create-db.ts';
import { readySuite } from './suites/ready.ts';
import { seed000SchemaSuite } from './suites/seed-000-schema.ts';

createDbSuite('postgres');
readySuite('postgres');
seed000SchemaSuite('postgres');
