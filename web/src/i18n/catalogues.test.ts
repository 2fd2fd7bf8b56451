// The catalogues themselves, imported directly: i18n.ts reads localStorage when it is imported.
import { describe, expect, it } from 'vitest';
import type { Catalogue, Message } from './catalogue.js';
import { en } from './en.js';
import { fr } from './fr.js';
import { ru } from './ru.js';

const translations: [string, Catalogue][] = [
  ['fr', fr],
  ['ru', ru],
];

const forms = (message: Message): [string, string][] =>
  typeof message === 'string' ? [['text', message]] : Object.entries(message).filter(([, text]) => text !== undefined);

/** The `{name}` placeholders a text fills in, sorted. */
const placeholders = (text: string): string[] => [...new Set(text.match(/\{\w+\}/g) ?? [])].sort();

describe('message catalogues', () => {
  it.each(translations)('%s has exactly the keys of English', (_, catalogue) => {
    expect(Object.keys(catalogue).sort()).toEqual(Object.keys(en).sort());
  });

  it.each([['en', en as Catalogue], ...translations])(
    '%s fills in the same placeholders as English',
    (_, catalogue) => {
      const wrong: string[] = [];
      for (const [key, english] of Object.entries(en) as [keyof Catalogue, Message][]) {
        const expected = placeholders(
          forms(english)
            .map(([, text]) => text)
            .join(' '),
        );
        for (const [form, text] of forms(catalogue[key])) {
          // A form that leaves out {count} reads wrong for every number it covers but one (Russian "one"
          // is also 21, 31…), so every form names every placeholder.
          if (placeholders(text).join() !== expected.join()) wrong.push(`${key} (${form}): ${text}`);
        }
      }
      expect(wrong).toEqual([]);
    },
  );

  it.each([['en', en as Catalogue], ...translations])(
    '%s has every plural form its language needs',
    (lang, catalogue) => {
      const needed = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
      const missing: string[] = [];
      for (const [key, message] of Object.entries(catalogue)) {
        const isPlural = typeof en[key as keyof typeof en] !== 'string';
        // A message is plural in every language or in none: t() picks the form by {count}.
        expect(typeof message !== 'string', key).toBe(isPlural);
        if (typeof message === 'string') continue;
        for (const category of needed) if (!(category in message)) missing.push(`${key}: ${category}`);
      }
      expect(missing).toEqual([]);
    },
  );

  it('has no empty message', () => {
    for (const [lang, catalogue] of [['en', en as Catalogue], ...translations] as const) {
      for (const [key, message] of Object.entries(catalogue)) {
        for (const [form, text] of forms(message)) expect(text.trim(), `${lang} ${key} ${form}`).not.toBe('');
      }
    }
  });
});
