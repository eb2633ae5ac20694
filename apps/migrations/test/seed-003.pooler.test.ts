import { seed003Suite } from './suites/seed-003.ts';

// The whole seed 003 suite as the application role through PgBouncer in transaction mode, two
// server connections for the pool's ten client connections.
seed003Suite('postgres', { poolerSize: 2 });
