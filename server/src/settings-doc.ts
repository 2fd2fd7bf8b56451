import { SETTINGS, type Setting } from './settings.js';

/** Where the generated table sits in docs/relay.md. */
export const SETTINGS_DOC_MARKERS = ['<!-- settings:start -->', '<!-- settings:end -->'] as const;

/**
 * The settings table of docs/relay.md, made from the settings table in code so that the two
 * cannot disagree (`npm run settings-doc -w @liaison/server` writes it; a test checks it).
 */
export function settingsDocTable(): string {
  const rows = Object.values(SETTINGS).map(
    (s: Setting<unknown>) => `| \`${s.name}\` | ${s.doc} | ${s.kind.expected} | ${shownDefault(s)} |`,
  );
  return ['| variable | meaning | value | default |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

function shownDefault(setting: Setting<unknown>): string {
  if (setting.defaultDoc) return setting.defaultDoc;
  const value = setting.default;
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return 'none';
  return String(value);
}

/** The document with its settings table replaced by the current one. */
export function withSettingsTable(doc: string): string {
  const [start, end] = SETTINGS_DOC_MARKERS;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`no ${start} … ${end} in the document`);
  return `${doc.slice(0, from + start.length)}\n${settingsDocTable()}\n${doc.slice(to)}`;
}
