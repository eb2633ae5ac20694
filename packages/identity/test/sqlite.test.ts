import { identitySuites } from './suites/index.ts';

identitySuites('sqlite');
