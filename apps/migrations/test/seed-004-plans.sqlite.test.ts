import { seed004PlansSuite } from './suites/seed-004.ts';

seed004PlansSuite('sqlite');
