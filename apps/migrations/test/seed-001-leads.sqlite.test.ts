import { seed001LeadsSuite } from './suites/seed-001-leads.ts';

seed001LeadsSuite('sqlite');
