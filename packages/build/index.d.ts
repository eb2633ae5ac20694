import type { UserConfig } from 'tsdown';

/** The export condition that points at TypeScript source inside the workspace. */
export declare const SOURCE_CONDITION = '@exora/source';
/** The source file of every subpath export that has the source condition (the entries). */
export declare function sourceEntries(packageDir?: string): string[];
/** `.d.ts` beside each `.js` (tsc), relative `.ts` specifiers rewritten to `.js`. */
export declare function emitDeclarations(packageDir?: string): string;
/** tsdown settings for a workspace library (see index.js). */
export declare function libraryConfig(options?: { entry?: string[] }): UserConfig;
