#!/usr/bin/env node
// `exora-build`: builds the package in the working directory (see libraryConfig in index.js).
import { build } from 'tsdown';
import { libraryConfig } from './index.js';

await build({ ...libraryConfig(), config: false });
