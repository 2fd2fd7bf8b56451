// Who is in a room, with their country and role, and whether their key was compared (or changed:
// nothing goes to the room until it is compared again); for its administrators: add a member, make
// one an administrator, take one out (after a question that names them and what it means for them).
import { useState } from 'preact/hooks';
import { countryName, t } from '../i18n/i18n.js';
import type { RoomSummary } from '../state/history.js';
import { href } from '../state/route.js';
import type { Session } from '../state/session.js';
import { ConfirmDialog } from './confirm.js';
import { ErrorLine } from './error-line.js';
import { describeRoomError } from './errors.js';
import { memberName } from './room-change.js';

export function RoomMembers(props: { session: Session; summary: RoomSummary }) {
  const { session, summary } = props;
  const { room } = summary;
  const self = session.client.contactPointId;
  const admin = room.role === 'admin';
  const [removing, setRemoving] = useState<{ id: string; name: string }>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <aside class="room-members" aria-labelledby="room-members-title">
      <h3 id="room-members-title">
        {room.role
          ? t('room.membersTitle', { count: room.members.length })
          : t('room.membersLastKnown', { count: room.members.length })}
      </h3>
      {admin && (
        <p>
          <a class="button" href={href({ screen: 'room-add', roomId: room.roomId })}>
            {t('room.add')}
          </a>
        </p>
      )}
      <ul class="members">
        {room.members.map(({ contactPointId, role }) => {
          const name = memberName(session, summary, contactPointId);
          const party =
            contactPointId === self ? session.self : (session.party(contactPointId) ?? summary.names[contactPointId]);
          return (
            <li key={contactPointId}>
              <span class="name">
                {name}
                {contactPointId === self && <span class="meta"> {t('room.you')}</span>}
              </span>
              <span class="meta">
                {party?.country && <>{countryName(party.country)} · </>}
                {role === 'admin' ? t('room.role.admin') : t('room.role.member')}
              </span>
              {contactPointId !== self && session.changedKeys.value.includes(contactPointId) ? (
                <span class="member-trust">
                  <span class="badge warning">{t('trust.changedBadge')}</span>{' '}
                  <a href={href({ screen: 'safety', peer: contactPointId })}>{t('trust.compareLink')}</a>
                </span>
              ) : (
                session.history.trust(contactPointId).verified && (
                  <span class="member-trust">
                    <span class="badge verified">{t('trust.verifiedBadge')}</span>
                  </span>
                )
              )}
              {admin && contactPointId !== self && (
                <span class="member-actions">
                  {role !== 'admin' && (
                    <button
                      type="button"
                      class="link"
                      disabled={busy}
                      aria-label={t('room.makeAdminNamed', { name })}
                      onClick={async () => {
                        setBusy(true);
                        setError(undefined);
                        try {
                          await session.makeRoomAdmin(room.roomId, contactPointId);
                        } catch (e) {
                          setError(describeRoomError(e));
                        } finally {
                          setBusy(false);
                        }
                      }}
                    >
                      {t('room.makeAdmin')}
                    </button>
                  )}
                  <button
                    type="button"
                    class="link danger"
                    aria-label={t('room.removeNamed', { name })}
                    onClick={() => setRemoving({ id: contactPointId, name })}
                  >
                    {t('room.remove')}
                  </button>
                </span>
              )}
            </li>
          );
        })}
      </ul>
      <ErrorLine message={error} />
      {removing && (
        <ConfirmDialog
          title={t('room.removeConfirm.title', { name: removing.name })}
          confirm={t('room.removeNamed', { name: removing.name })}
          onConfirm={() => session.removeFromRoom(room.roomId, removing.id)}
          onClose={() => setRemoving(undefined)}
          describe={describeRoomError}
        >
          <p>{t('room.removeConfirm.body', { name: removing.name })}</p>
        </ConfirmDialog>
      )}
    </aside>
  );
}
