import { vaultSuites } from './suites/index.ts';

vaultSuites('postgres');
