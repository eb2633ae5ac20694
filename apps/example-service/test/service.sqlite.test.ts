import { serviceSuite } from './suites/service.ts';

serviceSuite('sqlite');
