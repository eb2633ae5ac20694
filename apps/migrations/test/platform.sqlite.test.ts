import { platformSuite } from './suites/platform.ts';

platformSuite('sqlite');
