import {
  type DomainContext,
  found,
  NotFoundError,
  optionalText,
  ownedRow,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { asc } from 'drizzle-orm';
import { type Prompt, prompts } from '../schema/prompts.ts';

/** `{{name}}` (spaces inside the braces allowed): a variable slot of a template. */
const SLOT = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

/** The variables a template takes, in order of first use. */
export function templateVariables(content: string): string[] {
  return [...new Set(Array.from(content.matchAll(SLOT), (m) => m[1] ?? ''))];
}

/** A new template, or the one of that name replaced (its id and creation time kept). */
const savePrompt = statement.one(
  'prompts.save',
  prompts,
  ['name', 'description', 'content', 'variables', 'category'],
  ({ db, t, $, owner, excluded }) =>
    db
      .insert(t)
      .values({
        userId: owner,
        name: $.name,
        description: $.description,
        content: $.content,
        variables: $.variables,
        category: $.category,
      })
      .onConflictDoUpdate({
        target: [t.userId, t.name],
        set: {
          description: excluded(t.description),
          content: excluded(t.content),
          variables: excluded(t.variables),
          category: excluded(t.category),
        },
      })
      .returning(),
);

const findPrompt = ownedRow.find('prompts.find', prompts);

const listPrompts = statement.many(
  'prompts.list',
  prompts,
  [],
  ({ db, t, owned }) => db.select().from(t).where(owned()).orderBy(asc(t.name), asc(t.id)),
  { stale: true },
);

const deletePrompt = ownedRow.delete('prompts.delete', prompts);

export interface SavePromptInput {
  name: string;
  /** The template: `{{variable}}` slots are filled by `render`. */
  content: string;
  description?: string | null;
  category?: string | null;
}

/** A value `render` puts in a slot. */
export type PromptValue = string | number | boolean;

/** A user's saved prompt templates: save, list, render with variables. */
export function createPromptsRepository(ctx: DomainContext) {
  return {
    /** Saves a template under its name (replacing the user's template of that name). */
    async save(input: SavePromptInput, userId?: string): Promise<Prompt> {
      const given = requirePlainObject(input, 'input');
      const content = requireText(given.content, 'content', { max: 100_000 });
      return run(ctx, savePrompt, {
        owner: userId,
        name: requireText(given.name, 'name', { max: 200 }),
        description: optionalText(given.description, 'description', { max: 2000 }) ?? null,
        content,
        variables: templateVariables(content),
        category: optionalText(given.category, 'category', { max: 100 }) ?? null,
      });
    },

    async get(promptId: string): Promise<Prompt> {
      return found('prompt', run(ctx, findPrompt, { id: requireUuid(promptId, 'promptId') }));
    },

    /** The user's templates by name. */
    async list(userId?: string): Promise<Prompt[]> {
      return run(ctx, listPrompts, { owner: userId });
    },

    /**
     * The template with every variable filled from `values`. A variable the template takes and
     * `values` lacks is a ValidationError naming it (`variables.<name>`); extra values are ignored.
     */
    async render(promptId: string, values: Record<string, PromptValue> = {}): Promise<string> {
      const id = requireUuid(promptId, 'promptId');
      const given = requirePlainObject(values, 'values');
      const prompt = await found('prompt', run(ctx, findPrompt, { id }));
      for (const name of prompt.variables) {
        const value = Object.hasOwn(given, name) ? given[name] : undefined;
        if (value === undefined || value === null) {
          throw new ValidationError(`variables.${name}`, 'is missing');
        }
        if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
          throw new ValidationError(`variables.${name}`, 'must be a string, number or boolean');
        }
      }
      return prompt.content.replace(SLOT, (_, name: string) => String(given[name]));
    },

    async delete(promptId: string): Promise<void> {
      const id = requireUuid(promptId, 'promptId');
      if ((await run(ctx, deletePrompt, { id })) === 0) throw new NotFoundError('prompt');
    },
  };
}

export type PromptsRepository = ReturnType<typeof createPromptsRepository>;
