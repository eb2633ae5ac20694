/** What the globalSetup hands the test files. */
declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

export {};
