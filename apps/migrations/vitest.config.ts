import { vitestPreset } from '@exora/core/testing/vitest';
import { defineConfig } from 'vitest/config';

// Migration tests push whole schemas and run the CLI: longer per test than the preset's default.
export default defineConfig(vitestPreset({ testTimeout: 60_000 }));
