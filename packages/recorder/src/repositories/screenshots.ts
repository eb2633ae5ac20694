import { createHash } from 'node:crypto';
import {
  type DomainContext,
  found,
  optionalText,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { and, eq, sql } from 'drizzle-orm';
import { type Screenshot, screenshots } from '../schema/screenshots.ts';
import { asMember } from './internal.ts';

/**
 * Stores by content: an existing row with the same hash in the organization is returned as it
 * is (the no-op update makes `returning` give it), so the same bytes stored twice, even at once,
 * give one row and no error.
 */
const storeScreenshot = statement.one(
  'screenshots.store',
  screenshots,
  [
    'hash',
    'workflowId',
    'storageBucket',
    'storageKey',
    'contentType',
    'sizeBytes',
    'width',
    'height',
  ],
  ({ db, t, $, actorOrganization }) =>
    db
      .insert(t)
      .values({
        organizationId: actorOrganization(),
        hash: $.hash,
        workflowId: $.workflowId,
        storageBucket: $.storageBucket,
        storageKey: $.storageKey,
        contentType: $.contentType,
        sizeBytes: $.sizeBytes,
        width: $.width,
        height: $.height,
      })
      .onConflictDoUpdate({
        target: [t.organizationId, t.hash],
        set: { hash: sql`excluded.hash` },
      })
      .returning(),
);

const findScreenshot = statement.maybe(
  'screenshots.find',
  screenshots,
  ['id'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(eq(t.id, $.id), owned())),
);

const byHash = statement.maybe(
  'screenshots.findByHash',
  screenshots,
  ['hash'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(eq(t.hash, $.hash), owned())),
);

const deleteScreenshot = statement.count(
  'screenshots.delete',
  screenshots,
  ['id'],
  ({ db, t, $, owned }) => db.delete(t).where(and(eq(t.id, $.id), owned())),
);

const HEX64 = /^[0-9a-f]{64}$/;

const dimension = (value: unknown, field: string): number | null => {
  if (value == null) return null;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 100_000) {
    throw new ValidationError(field, 'must be a positive integer');
  }
  return value as number;
};

/** The SHA-256 of the bytes, as stored in `screenshots.hash` (lower-case hex). */
export function screenshotHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface StoreScreenshotInput {
  /** Where the bytes were put in object storage. */
  storageKey: string;
  storageBucket?: string | null;
  contentType?: string;
  workflowId?: string | null;
  width?: number | null;
  height?: number | null;
  /** A service names the organization. */
  organizationId?: string;
}

/** Screenshots of the organization's workflows, deduplicated by content. */
export function createScreenshotsRepository(ctx: DomainContext) {
  return {
    /**
     * The screenshot of these bytes: stored now, or the one stored before with the same bytes
     * (its storage location kept). The hash is computed here from the bytes.
     */
    async store(bytes: Uint8Array, input: StoreScreenshotInput): Promise<Screenshot> {
      if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
        throw new ValidationError('bytes', 'must be non-empty bytes');
      }
      const given = requirePlainObject(input, 'input');
      return asMember(
        run(ctx, storeScreenshot, {
          organizationId:
            given.organizationId == null
              ? undefined
              : requireUuid(given.organizationId, 'organizationId'),
          hash: screenshotHash(bytes),
          workflowId: given.workflowId == null ? null : requireUuid(given.workflowId, 'workflowId'),
          storageBucket: optionalText(given.storageBucket, 'storageBucket', { max: 255 }) ?? null,
          storageKey: requireText(given.storageKey, 'storageKey', { max: 1_024 }),
          contentType:
            given.contentType === undefined
              ? 'image/png'
              : requireText(given.contentType, 'contentType', { max: 100 }),
          sizeBytes: bytes.length,
          width: dimension(given.width, 'width'),
          height: dimension(given.height, 'height'),
        }),
      );
    },

    async get(id: string): Promise<Screenshot> {
      return found('screenshot', run(ctx, findScreenshot, { id: requireUuid(id, 'id') }));
    },

    /** The organization's screenshot with this SHA-256 (hex), if stored. */
    async findByHash(hash: string): Promise<Screenshot | null> {
      if (typeof hash !== 'string' || !HEX64.test(hash.toLowerCase())) {
        throw new ValidationError('hash', 'must be a SHA-256 in hex');
      }
      return run(ctx, byHash, { hash: hash.toLowerCase() });
    },

    /** Deletes it (steps showing it keep their place without it); false if none. */
    async delete(id: string): Promise<boolean> {
      return (await run(ctx, deleteScreenshot, { id: requireUuid(id, 'id') })) > 0;
    },
  };
}

export type ScreenshotsRepository = ReturnType<typeof createScreenshotsRepository>;
