// Messages and formatting in the reader's language, chosen by a switcher and kept in this browser.
import { computed, signal } from '@preact/signals';
import type { Catalogue, MessageKey, Plural } from './catalogue.js';
import { en } from './en.js';
import { fr } from './fr.js';
import { ru } from './ru.js';

export type { MessageKey } from './catalogue.js';

export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'fr', name: 'Français' },
  { code: 'ru', name: 'Русский' },
] as const;
export type Language = (typeof LANGUAGES)[number]['code'];

const catalogues: Record<Language, Catalogue> = { en, fr, ru };
const STORAGE_KEY = 'liaison.language';

function initialLanguage(): Language {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved && saved in catalogues) return saved as Language;
  for (const wanted of navigator.languages ?? []) {
    const code = wanted.slice(0, 2).toLowerCase();
    if (code in catalogues) return code as Language;
  }
  return 'en';
}

export const language = signal<Language>(initialLanguage());

export function setLanguage(code: Language): void {
  language.value = code;
  localStorage.setItem(STORAGE_KEY, code);
  document.documentElement.lang = code;
}

const pluralRules = computed(() => new Intl.PluralRules(language.value));

/** The message `key` in the reader's language, with `{name}` placeholders filled in. */
export function t(key: MessageKey, values: Record<string, string | number> = {}): string {
  const message = catalogues[language.value][key];
  const text =
    typeof message === 'string'
      ? message
      : (message[pluralRules.value.select(Number(values.count ?? 0)) as keyof Plural] ?? message.other);
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

/** Whether a key has a message in every catalogue (the tests check the rendered pages too). */
export function missingKeys(code: Language): string[] {
  return Object.keys(en).filter((key) => !(key in catalogues[code]));
}

const dateTime = computed(() => new Intl.DateTimeFormat(language.value, { dateStyle: 'medium', timeStyle: 'short' }));

/** A moment in the reader's own time zone. */
export function formatTime(at: number): string {
  return dateTime.value.format(at);
}

/** The time now where a counterpart is (their designation names their time zone). */
export function localTimeIn(timeZone: string, now = Date.now()): string {
  try {
    return new Intl.DateTimeFormat(language.value, { timeStyle: 'short', timeZone }).format(now);
  } catch {
    return '';
  }
}

/** "2 h 05 min", "4 min 10 s": the time left before a deadline. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return t('duration.hm', { h, m: String(m).padStart(2, '0') });
  if (m > 0) return t('duration.ms', { m, s: String(s).padStart(2, '0') });
  return t('duration.s', { s });
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${new Intl.NumberFormat(language.value, { maximumFractionDigits: unit ? 1 : 0 }).format(value)} ${units[unit]}`;
}

export function countryName(code: string): string {
  try {
    return new Intl.DisplayNames([language.value], { type: 'region' }).of(code) ?? code;
  } catch {
    return code;
  }
}

export function languageName(code: string): string {
  try {
    return new Intl.DisplayNames([language.value], { type: 'language' }).of(code) ?? code;
  } catch {
    return code;
  }
}
