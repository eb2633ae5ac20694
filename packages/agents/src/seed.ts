import { agentTemplates, type NewAgentTemplate } from './schema/agent-templates.ts';

/**
 * The six agent templates every installation starts with: reference rows with stable ids and
 * slugs, inserted once by `db:push` / `db:seed` (a second run inserts nothing). Plain data of
 * the migrations app's `referenceData` shape.
 */
const rows: NewAgentTemplate[] = [
  {
    id: '6a1f0d3e-4b8c-4e2a-9d61-0c5e7f3a1b01',
    slug: 'lead-qualifier',
    name: 'Lead Qualifier',
    description: 'Scores and routes inbound leads as they arrive.',
    category: 'sales',
    icon: 'target',
    capabilities: ['lead_scoring', 'crm_sync'],
  },
  {
    id: '6a1f0d3e-4b8c-4e2a-9d61-0c5e7f3a1b02',
    slug: 'customer-support',
    name: 'Customer Support',
    description: 'Answers customer questions and escalates what it cannot solve.',
    category: 'support',
    icon: 'headset',
    capabilities: ['chat', 'ticketing'],
  },
  {
    id: '6a1f0d3e-4b8c-4e2a-9d61-0c5e7f3a1b03',
    slug: 'social-media-manager',
    name: 'Social Media Manager',
    description: 'Plans, drafts and schedules posts across channels.',
    category: 'marketing',
    icon: 'megaphone',
    capabilities: ['content_generation', 'scheduling'],
  },
  {
    id: '6a1f0d3e-4b8c-4e2a-9d61-0c5e7f3a1b04',
    slug: 'email-assistant',
    name: 'Email Assistant',
    description: 'Triages the inbox and drafts replies.',
    category: 'productivity',
    icon: 'mail',
    capabilities: ['email', 'summarization'],
  },
  {
    id: '6a1f0d3e-4b8c-4e2a-9d61-0c5e7f3a1b05',
    slug: 'appointment-scheduler',
    name: 'Appointment Scheduler',
    description: 'Books, moves and reminds about meetings.',
    category: 'operations',
    icon: 'calendar',
    capabilities: ['calendar', 'reminders'],
  },
  {
    id: '6a1f0d3e-4b8c-4e2a-9d61-0c5e7f3a1b06',
    slug: 'data-analyst',
    name: 'Data Analyst',
    description: 'Builds reports and flags trends in business data.',
    category: 'analytics',
    icon: 'chart',
    capabilities: ['reporting', 'insights'],
  },
];

export const agentTemplateReferenceRows = {
  kind: 'referenceData',
  table: agentTemplates,
  rows,
} as const;
