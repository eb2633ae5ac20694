/**
 * What the vault repositories share: input checks for secrets, JSON and the named user, and the
 * two forms of a method a user calls on their own rows and a service on anyone's.
 */
import {
  type Actor,
  type AnyTable,
  type DomainContext,
  requirePlainObject,
  requireUuid,
  run,
  type Statement,
  type StatementOptions,
  statement,
  unit,
  ValidationError,
} from '@exora/core';
import { eq, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';

/** `String.prototype.isWellFormed` (Node 20+; ES2024, newer than this repo's `lib`). */
const isWellFormed = (s: string): boolean =>
  (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * A secret as given: a non-blank string, kept exactly (no trimming), of well-formed Unicode
 * (the cipher refuses unpaired surrogates; checking here keeps the refusal before any SQL).
 */
export function requireSecret(
  value: unknown,
  field: string,
  options: { min?: number; max?: number; noWhitespace?: boolean } = {},
): string {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string');
  if (value.trim().length === 0) throw new ValidationError(field, 'must not be empty');
  const min = options.min ?? 1;
  const max = options.max ?? 16_384;
  if (value.length < min) throw new ValidationError(field, `must be at least ${min} characters`);
  if (value.length > max) throw new ValidationError(field, `must be at most ${max} characters`);
  if (!isWellFormed(value)) {
    throw new ValidationError(field, 'must be well-formed Unicode (no unpaired surrogates)');
  }
  if (options.noWhitespace && /\s/.test(value)) {
    throw new ValidationError(field, 'must not contain whitespace');
  }
  return value;
}

/** `undefined` stays undefined (leave as is), `null` clears, a string is checked as a secret. */
export function optionalSecret(
  value: unknown,
  field: string,
  options: { max?: number } = {},
): string | null | undefined {
  if (value === undefined || value === null) return value;
  return requireSecret(value, field, options);
}

/** A plain object that survives `JSON.stringify`; returns it and its JSON text. */
export function requireJsonObject(
  value: unknown,
  field: string,
  options: { maxBytes?: number } = {},
): { value: Record<string, unknown>; json: string } {
  const object = requirePlainObject(value, field);
  let json: string;
  try {
    json = JSON.stringify(object);
  } catch {
    throw new ValidationError(field, 'must be JSON-serialisable (no BigInt, no cycles)');
  }
  const maxBytes = options.maxBytes ?? 65_536;
  if (Buffer.byteLength(json, 'utf8') > maxBytes) {
    throw new ValidationError(field, `must be at most ${maxBytes} bytes as JSON`);
  }
  return { value: JSON.parse(json) as Record<string, unknown>, json };
}

/** An object argument (`input`, `details`), before its fields are checked. */
export function requireInput<T>(value: T, field = 'input'): T {
  if (typeof value !== 'object' || value === null) {
    throw new ValidationError(field, 'must be an object');
  }
  return value;
}

/**
 * The `owner` parameter for a method's optional `userId`: left out, the acting user; a UUID is
 * passed on, and the engine refuses a user naming someone else and a service naming no one.
 */
export function ownerParam(userId: unknown): { owner: string | undefined } {
  return { owner: ownerId(userId) };
}

/**
 * The `owner` parameter on its own. Write `{ owner: ownerId(userId), ... }` rather than
 * spreading `ownerParam` first: an object literal that starts with a spread and goes on with
 * named properties cost about 30 µs per call on Node 20 (measured on `oauthTokens.save`).
 */
export function ownerId(userId: unknown): string | undefined {
  return userId == null ? undefined : requireUuid(userId, 'userId');
}

/** How one form of an `ownOrAny` statement reaches rows. */
export interface Reach {
  /** The statement's name (the service form's ends in `.service`). */
  readonly name: string;
  /** The owner filter in the user form; nothing in the service form. */
  mine(owned: () => SQL): SQL | undefined;
  readonly options: StatementOptions;
}

/**
 * A statement for a method a user calls on their own rows and a service on anyone's (rows found
 * by id): declared once, in two forms, the service form service-only and without the owner
 * filter. Returns the form for an actor.
 */
export function ownOrAny<S>(name: string, declare: (reach: Reach) => S): (actor: Actor) => S {
  const own = declare({ name, mine: (owned) => owned(), options: {} });
  const any = declare({
    name: `${name}.service`,
    mine: () => undefined,
    options: { serviceOnly: true },
  });
  return (actor) => (actor.kind === 'service' ? any : own);
}

const ownerLookups = new WeakMap<AnyTable, Statement<{ id: unknown }, { owner: string } | null>>();

/** A column of a kit table by key, when the key is known only at run time (statement build). */
export function columnOf(t: unknown, key: string): PgColumn {
  const column = (t as Record<string, PgColumn | undefined>)[key];
  if (!column) throw new Error(`no column ${key}`);
  return column;
}

/** The owner of a row of a user-owned table, by id (service only). */
function ownerLookup(table: AnyTable) {
  let lookup = ownerLookups.get(table);
  if (!lookup) {
    const ownerKey = table.meta.ownerKey;
    if (!ownerKey) throw new Error(`${table.name} has no owner column`);
    lookup = statement.maybe(
      `${table.name}.ownerOf`,
      table,
      ['id'],
      ({ db, t, $ }) => {
        return db
          .select({ owner: columnOf(t, ownerKey) })
          .from(t)
          .where(eq(columnOf(t, 'id'), $.id));
      },
      { serviceOnly: true },
    ) as Statement<{ id: unknown }, { owner: string } | null>;
    ownerLookups.set(table, lookup);
  }
  return lookup;
}

/**
 * Runs a user-form statement that encrypts into row `params.id` of `table`. A ciphertext is
 * bound to its row's owner, so a service first reads the owner and names it, in the same unit
 * (the statement's owner filter then also checks it); a user acts for themself. Null when there
 * is no such row.
 */
export async function writeAsRowOwner<P extends Record<string, unknown>, R>(
  ctx: DomainContext,
  table: AnyTable,
  write: Statement<P, R | null>,
  params: P & { id: string },
): Promise<R | null> {
  if (ctx.actor.kind !== 'service') return run(ctx, write, params);
  return unit(ctx, 'write', async (tx) => {
    const row = await run(tx, ownerLookup(table), { id: params.id });
    return row && run(tx, write, Object.assign({}, params, { owner: row.owner }));
  });
}
