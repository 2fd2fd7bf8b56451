// When a counterpart's key changed, nothing more goes to them until a person has compared the new
// safety number: this dialog blocks the page over that conversation and says why, in plain words.
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../i18n/i18n.js';
import { go, route } from '../state/route.js';
import type { Session } from '../state/session.js';
import { ErrorLine } from './error-line.js';
import { describeError } from './errors.js';
import { SafetyDigits, useSafetyNumber } from './safety-number.js';

function Dialog(props: { session: Session; peer: string }) {
  const { session, peer } = props;
  const party = session.party(peer);
  const name = party?.displayName ?? peer;
  const { number, error } = useSafetyNumber(session, peer, 'new');
  const [compared, setCompared] = useState(false);
  const [failure, setFailure] = useState<string>();
  const dialog = useRef<HTMLDialogElement>(null);
  // A tick is for the number shown when it was given.
  useEffect(() => setCompared(false), [number]);
  useEffect(() => {
    if (dialog.current && !dialog.current.open) dialog.current.showModal();
  }, []);
  return (
    <dialog
      ref={dialog}
      class="key-change"
      role="alertdialog"
      aria-labelledby="key-change-title"
      aria-describedby="key-change-explain"
      onCancel={(e) => {
        e.preventDefault();
        go({ screen: 'home' });
      }}
    >
      <h2 id="key-change-title">{t('keyChange.title', { name })}</h2>
      <div id="key-change-explain">
        <p>{t('keyChange.explain1', { name })}</p>
        <p>{t('keyChange.explain2')}</p>
        <p>{t('keyChange.explain3', { name })}</p>
      </div>
      {number && <SafetyDigits number={number} />}
      {error && <p class="error">{error}</p>}
      <label class="check">
        <input type="checkbox" checked={compared} onChange={(e) => setCompared(e.currentTarget.checked)} />
        {t('keyChange.compared', { name })}
      </label>
      <ErrorLine message={failure} />
      <div class="actions">
        <button
          type="button"
          class="primary"
          disabled={!compared || !number}
          onClick={async () => {
            try {
              if (number) await session.acceptNewKey(peer, number);
            } catch (e) {
              setFailure(describeError(e));
            }
          }}
        >
          {t('keyChange.accept')}
        </button>
        <button type="button" onClick={() => go({ screen: 'home' })}>
          {t('keyChange.notNow')}
        </button>
      </div>
    </dialog>
  );
}

export function KeyChangeDialog(props: { session: Session }) {
  const current = route.value;
  const peer =
    current.screen === 'conversation' || current.screen === 'safety'
      ? current.peer
      : current.screen === 'compose'
        ? current.to
        : undefined;
  if (!peer || !props.session.changedKeys.value.includes(peer)) return null;
  return <Dialog key={peer} session={props.session} peer={peer} />;
}
