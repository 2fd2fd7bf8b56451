import { useId } from 'preact/hooks';
import { LANGUAGES, type Language, language, setLanguage, t } from '../i18n/i18n.js';

export function LanguageSwitcher() {
  const id = useId();
  return (
    <span class="language">
      <label for={id}>{t('language.label')}</label>
      <select id={id} value={language.value} onChange={(e) => setLanguage(e.currentTarget.value as Language)}>
        {LANGUAGES.map((l) => (
          <option key={l.code} value={l.code} lang={l.code}>
            {l.name}
          </option>
        ))}
      </select>
    </span>
  );
}
