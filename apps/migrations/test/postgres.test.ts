import { migrationSuites } from './suites/index.ts';

migrationSuites('postgres');
