// Adding a member to a room (its administrators only): someone from the directory's verified
// entries, who then receives what is sent to the room from now on, not what was said before.
import type { VerifiedEntry } from '@liaison/client';
import { useState } from 'preact/hooks';
import { t } from '../i18n/i18n.js';
import { go, href } from '../state/route.js';
import { partyOfEntry, type Session } from '../state/session.js';
import { DirectorySearch } from './directory.js';
import { ErrorLine } from './error-line.js';
import { describeRoomError } from './errors.js';

export function AddToRoom(props: { session: Session; roomId: string }) {
  const { session, roomId } = props;
  const summary = session.history.rooms.value.find((r) => r.room.roomId === roomId);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  if (!summary) {
    return (
      <section>
        <p>{t('room.unknown')}</p>
      </section>
    );
  }
  const { room } = summary;
  const members = new Set(room.members.map((m) => m.contactPointId));
  const full = members.size >= 50;

  const add = (entry: VerifiedEntry) => {
    const party = partyOfEntry(entry);
    return (
      <button
        type="button"
        class="primary"
        disabled={busy || full}
        onClick={async () => {
          setBusy(true);
          setError(undefined);
          try {
            await session.addToRoom(roomId, party);
            go({ screen: 'room', roomId });
          } catch (e) {
            setError(describeRoomError(e));
            setBusy(false);
          }
        }}
      >
        {t('room.addNamed', { name: party.displayName })}
      </button>
    );
  };

  return (
    <section aria-labelledby="room-add-title">
      <h2 id="room-add-title">{t('room.addTitle', { title: room.title })}</h2>
      <p class="hint">{t('room.addExplain')}</p>
      <p>
        <a href={href({ screen: 'room', roomId })}>{t('room.back', { title: room.title })}</a>
      </p>
      {room.role !== 'admin' && <p class="error">{t('room.error.forbidden')}</p>}
      {full && <p class="error">{t('room.error.full')}</p>}
      <ErrorLine message={error} />
      {room.role === 'admin' && (
        <DirectorySearch
          session={session}
          actions={add}
          hide={(id) => members.has(id) || id === session.client.contactPointId}
        />
      )}
    </section>
  );
}
