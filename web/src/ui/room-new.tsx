// Opening a case room: a title, the case reference if there is one, and its members picked from
// the directory's verified entries (1 to 49 besides this contact point, its first administrator).
import type { VerifiedEntry } from '@liaison/client';
import { useState } from 'preact/hooks';
import { countryName, t } from '../i18n/i18n.js';
import type { PartyName } from '../state/history.js';
import { go } from '../state/route.js';
import { partyOfEntry, type Session } from '../state/session.js';
import { DirectorySearch } from './directory.js';
import { ErrorLine } from './error-line.js';
import { describeRoomError } from './errors.js';

/** Members besides the one who opens the room (a room holds at most 50). */
export const MAX_OTHERS = 49;

export function NewRoom(props: { session: Session }) {
  const { session } = props;
  const [title, setTitle] = useState('');
  const [reference, setReference] = useState('');
  const [chosen, setChosen] = useState<PartyName[]>([]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const self = session.client.contactPointId;
  const isChosen = (id: string) => chosen.some((p) => p.contactPointId === id);
  const full = chosen.length >= MAX_OTHERS;

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    if (chosen.length === 0) {
      setError(t('room.new.noneChosen'));
      return;
    }
    setBusy(true);
    try {
      const view = await session.createRoom({
        title: title.trim(),
        ...(reference.trim() && { caseReference: reference.trim() }),
        members: chosen,
      });
      go({ screen: 'room', roomId: view.roomId });
    } catch (e) {
      setError(describeRoomError(e));
      setBusy(false);
    }
  };

  const pick = (entry: VerifiedEntry) => {
    const party = partyOfEntry(entry);
    const name = party.displayName;
    return isChosen(party.contactPointId) ? (
      <>
        <span class="badge ok">{t('room.new.chosen')}</span>
        <button
          type="button"
          onClick={() => setChosen(chosen.filter((p) => p.contactPointId !== party.contactPointId))}
        >
          {t('room.new.unchooseNamed', { name })}
        </button>
      </>
    ) : (
      <button
        type="button"
        class="primary"
        disabled={full}
        onClick={() => {
          setChosen([...chosen, party]);
          setError(undefined);
        }}
      >
        {t('room.new.chooseNamed', { name })}
      </button>
    );
  };

  return (
    <section class="room-new" aria-labelledby="room-new-title">
      <h2 id="room-new-title">{t('room.new.title')}</h2>
      <p class="hint">{t('room.new.explain')}</p>
      <div class="room-new-layout">
        <form class="room-new-form" onSubmit={submit}>
          <label>
            {t('room.titleLabel')}
            <input value={title} required maxLength={200} onInput={(e) => setTitle(e.currentTarget.value)} />
          </label>
          <label>
            {t('room.referenceLabel')}
            <input value={reference} maxLength={100} onInput={(e) => setReference(e.currentTarget.value)} />
          </label>
          <fieldset>
            <legend>{t('room.new.members', { count: chosen.length })}</legend>
            {chosen.length === 0 ? (
              <p class="hint">{t('room.new.membersHint', { max: MAX_OTHERS })}</p>
            ) : (
              <ul class="chosen">
                {chosen.map((p) => (
                  <li key={p.contactPointId}>
                    <div>
                      <strong>{p.displayName}</strong>
                      <div class="meta">
                        {countryName(p.country)} · {p.authorityName}
                      </div>
                    </div>
                    <button
                      type="button"
                      class="link"
                      aria-label={t('room.new.unchooseNamed', { name: p.displayName })}
                      onClick={() => setChosen(chosen.filter((c) => c.contactPointId !== p.contactPointId))}
                    >
                      {t('room.new.unchoose')}
                    </button>
                  </li>
                ))}
              </ul>
            )}
            {full && <p class="hint">{t('room.new.full', { max: MAX_OTHERS })}</p>}
          </fieldset>
          <ErrorLine message={error} />
          <button type="submit" class="primary" disabled={busy || !title.trim()}>
            {busy ? t('room.new.opening') : t('room.new.open')}
          </button>
        </form>
        <section class="room-new-directory" aria-labelledby="room-new-find">
          <h3 id="room-new-find">{t('room.new.find')}</h3>
          <DirectorySearch session={session} actions={pick} hide={(id) => id === self} />
        </section>
      </div>
    </section>
  );
}
