import { recorderSuite } from './suites/recorder.ts';

recorderSuite('postgres');
