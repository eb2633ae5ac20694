import { replicasSuite } from './suites/replicas.ts';

replicasSuite('sqlite');
