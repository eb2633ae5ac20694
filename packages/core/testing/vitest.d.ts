export interface VitestPresetOptions {
  /** Per test (default 30 s: a Postgres test creates its own database first). */
  testTimeout?: number;
  /** Per hook (default 60 s: a throwaway Postgres server may have to start). */
  hookTimeout?: number;
}

/** The shared vitest settings of every package with database tests (see vitest.js). */
export declare function vitestPreset(options?: VitestPresetOptions): {
  test: { globalSetup: string[]; testTimeout: number; hookTimeout: number };
};
