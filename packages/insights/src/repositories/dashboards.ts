import {
  type DomainContext,
  optionalText,
  requirePlainObject,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { type DashboardData, dashboardData } from '../schema/dashboard-data.ts';
import {
  type UserDashboardPreferences,
  userDashboardPreferences,
} from '../schema/user-dashboard-preferences.ts';

const findDashboard = statement.maybe(
  'dashboardData.get',
  dashboardData,
  [],
  ({ db, t, owned }) => db.select().from(t).where(owned()),
  { stale: true },
);

/** Insert, or update the fields given (`keep*` keeps the others). */
const upsertDashboard = statement.one(
  'dashboardData.update',
  dashboardData,
  ['widgets', 'settings', 'keepWidgets', 'keepSettings'],
  ({ db, t, $, owner, keepIf }) =>
    db
      .insert(t)
      .values({ userId: owner, widgets: $.widgets, settings: $.settings })
      .onConflictDoUpdate({
        target: t.userId,
        set: {
          widgets: keepIf(t.widgets, $.keepWidgets),
          settings: keepIf(t.settings, $.keepSettings),
        },
      })
      .returning(),
);

const findPreferences = statement.maybe(
  'userDashboardPreferences.get',
  userDashboardPreferences,
  [],
  ({ db, t, owned }) => db.select().from(t).where(owned()),
);

const upsertPreferences = statement.one(
  'userDashboardPreferences.upsert',
  userDashboardPreferences,
  ['layout', 'theme', 'defaultView', 'keepLayout', 'keepTheme', 'keepDefaultView'],
  ({ db, t, $, owner, keepIf }) =>
    db
      .insert(t)
      .values({ userId: owner, layout: $.layout, theme: $.theme, defaultView: $.defaultView })
      .onConflictDoUpdate({
        target: t.userId,
        set: {
          layout: keepIf(t.layout, $.keepLayout),
          theme: keepIf(t.theme, $.keepTheme),
          defaultView: keepIf(t.defaultView, $.keepDefaultView),
        },
      })
      .returning(),
);

const THEMES = ['system', 'light', 'dark'];

/** The user's dashboard (widgets, settings, activated workflows) and its layout preferences. */
export function createDashboardsRepository(ctx: DomainContext) {
  return {
    /** The dashboard, or null before anything was put on it. */
    get(userId?: string): Promise<DashboardData | null> {
      return run(ctx, findDashboard, { owner: userId });
    },

    /** Sets widgets and/or settings (the workflows list belongs to workflow activation). */
    async update(
      input: { widgets?: Record<string, unknown>[]; settings?: Record<string, unknown> },
      userId?: string,
    ): Promise<DashboardData> {
      const given = requirePlainObject(input, 'input');
      const widgets = given.widgets;
      if (widgets !== undefined && (!Array.isArray(widgets) || widgets.length > 200)) {
        throw new ValidationError('widgets', 'must be an array of at most 200 objects');
      }
      for (const [i, w] of (widgets ?? []).entries()) requirePlainObject(w, `widgets[${i}]`);
      const settings =
        given.settings === undefined ? undefined : requirePlainObject(given.settings, 'settings');
      return run(ctx, upsertDashboard, {
        owner: userId,
        widgets: widgets ?? [],
        settings: settings ?? {},
        keepWidgets: widgets === undefined,
        keepSettings: settings === undefined,
      });
    },

    getPreferences(userId?: string): Promise<UserDashboardPreferences | null> {
      return run(ctx, findPreferences, { owner: userId });
    },

    async setPreferences(
      input: { layout?: Record<string, unknown>; theme?: string; defaultView?: string },
      userId?: string,
    ): Promise<UserDashboardPreferences> {
      const given = requirePlainObject(input, 'input');
      const layout =
        given.layout === undefined ? undefined : requirePlainObject(given.layout, 'layout');
      const theme = optionalText(given.theme, 'theme', { max: 20 });
      if (theme != null && !THEMES.includes(theme)) {
        throw new ValidationError('theme', `must be one of ${THEMES.join(', ')}`);
      }
      const defaultView = optionalText(given.defaultView, 'defaultView', { max: 100 });
      return run(ctx, upsertPreferences, {
        owner: userId,
        layout: layout ?? {},
        theme: theme ?? 'system',
        defaultView: defaultView ?? 'overview',
        keepLayout: layout === undefined,
        keepTheme: theme == null,
        keepDefaultView: defaultView == null,
      });
    },
  };
}
