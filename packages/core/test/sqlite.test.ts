import { coreSuites } from './suites/index.ts';

coreSuites('sqlite');
