/**
 * Reference rows every installation needs (what `db:push` and `db:seed` insert, idempotently),
 * and nothing else: the migrations app loads this module beside `./schema`.
 */
export { agentTemplateReferenceRows } from '@exora/agents/seed';
