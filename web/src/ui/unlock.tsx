import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../i18n/i18n.js';
import type { DeviceRecord } from '../state/device-record.js';
import { Session } from '../state/session.js';
import { ErrorLine } from './error-line.js';
import { describeError } from './errors.js';
import { LanguageSwitcher } from './language-switcher.js';
import { PassphraseField } from './passphrase-field.js';

export function Unlock(props: { record: DeviceRecord; idle: boolean; onUnlocked: (session: Session) => void }) {
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const field = useRef<HTMLInputElement>(null);
  useEffect(() => field.current?.focus(), []);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await Session.unlock(props.record, passphrase);
      setPassphrase('');
      props.onUnlocked(session);
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  };

  return (
    <main class="centered card" aria-labelledby="unlock-title">
      <div class="topline">
        <h1 id="unlock-title">{t('unlock.title')}</h1>
        <LanguageSwitcher />
      </div>
      <p>{t('unlock.who', { name: props.record.displayName, id: props.record.contactPointId })}</p>
      {props.idle && <p role="status">{t('unlock.idle')}</p>}
      <p class="hint">{t('unlock.whileLocked')}</p>
      <form onSubmit={submit}>
        <PassphraseField value={passphrase} onInput={setPassphrase} inputRef={field} />
        <ErrorLine message={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t('unlock.working') : t('unlock.submit')}
        </button>
      </form>
    </main>
  );
}
