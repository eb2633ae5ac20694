import { createDbSuite } from './suites/create-db.ts';
import { seed000SchemaSuite } from './suites/seed-000-schema.ts';

createDbSuite('postgres');
seed000SchemaSuite('postgres');
