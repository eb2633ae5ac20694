import { vitestPreset } from '@exora/core/testing/vitest';
import { defineConfig } from 'vitest/config';

export default defineConfig(vitestPreset({ testTimeout: 60_000 }));
