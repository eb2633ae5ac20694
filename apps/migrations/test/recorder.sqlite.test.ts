import { recorderSuite } from './suites/recorder.ts';

recorderSuite('sqlite');
