import { seed001LeadPlansSuite, seed001LeadsSuite } from './suites/seed-001-leads.ts';

seed001LeadsSuite('postgres');
seed001LeadPlansSuite('postgres');
