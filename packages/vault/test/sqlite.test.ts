import { vaultSuites } from './suites/index.ts';

vaultSuites('sqlite');
