// A change of a room's members or title, as a line of its timeline: who did what, named as the
// directory and the verified messages name them ("Aminata Diallo added Awa Koné").
import { formatTime, t } from '../i18n/i18n.js';
import type { RoomSummary, StoredRoomChange } from '../state/history.js';
import type { Session } from '../state/session.js';

/** A contact point's name as this page knows it (the directory, a message, the room's own record), or its id. */
export function memberName(session: Session, summary: RoomSummary | undefined, contactPointId: string): string {
  if (contactPointId === session.client.contactPointId) return session.self.displayName;
  return session.party(contactPointId)?.displayName ?? summary?.names[contactPointId]?.displayName ?? contactPointId;
}

export function describeChange(session: Session, summary: RoomSummary | undefined, entry: StoredRoomChange): string {
  const name = (id: string) => memberName(session, summary, id);
  const by = name(entry.by);
  const { change } = entry;
  switch (change.op) {
    case 'create':
      return t('room.line.create', {
        by,
        title: change.title,
        names: change.members
          .filter((m) => m.contactPointId !== entry.by)
          .map((m) => name(m.contactPointId))
          .join(', '),
      });
    case 'add':
      return t(change.role === 'admin' ? 'room.line.addAdmin' : 'room.line.add', {
        by,
        name: name(change.contactPointId),
      });
    case 'remove':
      return t('room.line.remove', { by, name: name(change.contactPointId) });
    case 'set-role':
      return t(change.role === 'admin' ? 'room.line.madeAdmin' : 'room.line.madeMember', {
        by,
        name: name(change.contactPointId),
      });
    case 'rename':
      return change.caseReference
        ? t('room.line.renameWithReference', { by, title: change.title, reference: change.caseReference })
        : t('room.line.rename', { by, title: change.title });
    case 'leave':
      return t('room.line.leave', { by });
  }
}

export function RoomChangeLine(props: { session: Session; summary: RoomSummary | undefined; entry: StoredRoomChange }) {
  return (
    <p class="room-line">
      <span>{describeChange(props.session, props.summary, props.entry)}</span>{' '}
      <time class="meta" dateTime={new Date(props.entry.at).toISOString()}>
        {formatTime(props.entry.at)}
      </time>
    </p>
  );
}
