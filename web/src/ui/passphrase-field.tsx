import type { Ref } from 'preact';
import { t } from '../i18n/i18n.js';

/** The passphrase that opens this browser's key store (unlocking, or finishing an enrolment). */
export function PassphraseField(props: {
  value: string;
  onInput: (value: string) => void;
  inputRef?: Ref<HTMLInputElement>;
}) {
  return (
    <label>
      {t('unlock.passphrase')}
      <input
        type="password"
        autocomplete="current-password"
        required
        ref={props.inputRef}
        value={props.value}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </label>
  );
}
