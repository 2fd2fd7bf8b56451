// A case room: its timeline (messages, and changes of its members and title as lines between them),
// its members with their roles, and what this contact point may do there. A room it was removed
// from, or left, stays readable here but says so and takes nothing more.
import { useEffect, useState } from 'preact/hooks';
import { formatTime, t } from '../i18n/i18n.js';
import { isRoomChange, type RoomEntry, type RoomSummary } from '../state/history.js';
import type { Session } from '../state/session.js';
import { ConfirmDialog } from './confirm.js';
import { ErrorLine } from './error-line.js';
import { describeRoomError } from './errors.js';
import { MessageView } from './message.js';
import { MessageLog } from './message-log.js';
import { RoomChangeLine } from './room-change.js';
import { RoomCompose } from './room-compose.js';
import { RoomMembers } from './room-members.js';

/**
 * How often the room on screen is read again from the SDK: whether its history is complete changes
 * with no event (a message that names a change this device lacks waits, silently; it is released
 * after the history arrives, once the change's own event has been told).
 */
const RECHECK_MS = 3000;

function useRoomEntries(session: Session, roomId: string, buckets: number) {
  const history = session.history;
  const [from, setFrom] = useState(Math.max(0, buckets - 1));
  const [entries, setEntries] = useState<RoomEntry[]>([]);
  const revision = history.revision.value;
  useEffect(() => setFrom(Math.max(0, buckets - 1)), [roomId]);
  useEffect(() => {
    let live = true;
    void (async () => {
      const loaded: RoomEntry[] = [];
      for (let n = Math.min(from, Math.max(0, buckets - 1)); n < buckets; n++)
        loaded.push(...(await history.roomBucket(roomId, n)));
      if (live) setEntries(loaded);
    })();
    return () => {
      live = false;
    };
  }, [roomId, from, buckets, revision]);
  return { entries, more: from > 0, loadEarlier: () => setFrom((n) => Math.max(0, n - 1)) };
}

function RenameForm(props: { session: Session; summary: RoomSummary; onDone: () => void }) {
  const { room } = props.summary;
  const [title, setTitle] = useState(room.title);
  const [reference, setReference] = useState(room.caseReference ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  return (
    <form
      class="room-rename"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(undefined);
        try {
          await props.session.renameRoom(room.roomId, title.trim(), reference.trim() || undefined);
          props.onDone();
        } catch (failure) {
          setError(describeRoomError(failure));
          setBusy(false);
        }
      }}
    >
      <div class="row">
        <label>
          {t('room.titleLabel')}
          <input value={title} required maxLength={200} onInput={(e) => setTitle(e.currentTarget.value)} />
        </label>
        <label>
          {t('room.referenceLabel')}
          <input value={reference} maxLength={100} onInput={(e) => setReference(e.currentTarget.value)} />
        </label>
        <div class="actions">
          <button type="submit" class="primary" disabled={busy || !title.trim()}>
            {t('room.renameSave')}
          </button>
          <button type="button" onClick={props.onDone} disabled={busy}>
            {t('common.cancel')}
          </button>
        </div>
      </div>
      <ErrorLine message={error} />
    </form>
  );
}

/** Why this contact point can read the room but not write to it. */
function EndedNotice(props: { session: Session; summary: RoomSummary }) {
  const { ended } = props.summary;
  const text = !ended
    ? t('room.ended')
    : ended.left
      ? t('room.left', { time: formatTime(ended.at) })
      : t('room.removed', {
          by: props.session.party(ended.by)?.displayName ?? props.summary.names[ended.by]?.displayName ?? ended.by,
          time: formatTime(ended.at),
        });
  return (
    <p class="room-notice ended" role="status">
      {text} {t('room.readOnly')}
    </p>
  );
}

export function RoomScreen(props: { session: Session; roomId: string }) {
  const { session, roomId } = props;
  const summary = session.history.rooms.value.find((r) => r.room.roomId === roomId);
  const { entries, more, loadEarlier } = useRoomEntries(session, roomId, summary?.buckets ?? 0);
  const [renaming, setRenaming] = useState(false);
  const [leaving, setLeaving] = useState(false);
  const [cannotLeave, setCannotLeave] = useState(false);
  const room = summary?.room;

  useEffect(() => {
    if (summary?.unread) void session.history.markRoomRead(roomId);
  }, [roomId, summary?.unread]);

  useEffect(() => {
    const recheck = () => void session.refreshRoom(roomId).catch(() => undefined);
    recheck();
    const timer = setInterval(recheck, RECHECK_MS);
    return () => clearInterval(timer);
  }, [roomId]);

  if (!summary || !room) {
    return (
      <section>
        <p>{t('room.unknown')}</p>
      </section>
    );
  }
  const member = room.role !== undefined;
  const admin = room.role === 'admin';
  const admins = room.members.filter((m) => m.role === 'admin').length;
  const onlyAdmin = admin && admins === 1 && room.members.length > 1;
  return (
    <section class="room" aria-labelledby="room-title">
      <header class="room-head">
        <div class="room-title">
          <h2 id="room-title">{room.title}</h2>
          <p class="meta">
            {room.caseReference && (
              <>
                <span class="room-reference">{t('room.case', { reference: room.caseReference })}</span> ·{' '}
              </>
            )}
            {t('room.memberCount', { count: room.members.length })}
            {!member && (
              <>
                {' '}
                <span class="badge warning">{summary.ended?.left ? t('room.leftBadge') : t('room.endedBadge')}</span>
              </>
            )}
          </p>
        </div>
        {member && !renaming && (
          <p class="actions">
            {admin && (
              <button type="button" onClick={() => setRenaming(true)}>
                {t('room.rename')}
              </button>
            )}
            <button type="button" onClick={() => (onlyAdmin ? setCannotLeave(true) : setLeaving(true))}>
              {t('room.leave')}
            </button>
          </p>
        )}
      </header>
      {renaming && <RenameForm session={session} summary={summary} onDone={() => setRenaming(false)} />}
      {onlyAdmin && cannotLeave && (
        <p class="room-notice" role="alert">
          {t('room.onlyAdmin')}{' '}
          <button type="button" class="link" onClick={() => setCannotLeave(false)}>
            {t('common.dismiss')}
          </button>
        </p>
      )}
      {!room.complete && member && (
        <p class="room-notice incomplete" role="status">
          {t('room.incomplete')}
        </p>
      )}
      {!member && <EndedNotice session={session} summary={summary} />}
      <div class="room-body">
        <div class="room-talk">
          <MessageLog
            label={t('room.messages', { title: room.title })}
            shown={entries}
            more={more}
            loadEarlier={loadEarlier}
          >
            {entries.map((entry) =>
              isRoomChange(entry) ? (
                <RoomChangeLine key={entry.messageId} session={session} summary={summary} entry={entry} />
              ) : (
                <MessageView key={entry.messageId} session={session} message={entry} />
              ),
            )}
          </MessageLog>
          {member && <RoomCompose session={session} room={room} />}
        </div>
        <RoomMembers session={session} summary={summary} />
      </div>
      {leaving && (
        <ConfirmDialog
          title={t('room.leaveConfirm.title', { title: room.title })}
          confirm={t('room.leave')}
          onConfirm={() => session.leaveRoom(roomId)}
          onClose={() => setLeaving(false)}
          describe={describeRoomError}
        >
          <p>{t('room.leaveConfirm.body')}</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

/** A room's line in a list: title, case reference, members. */
export function roomMeta(summary: RoomSummary): string {
  const { room } = summary;
  const count = t('room.memberCount', { count: room.members.length });
  return room.caseReference ? `${room.caseReference} · ${count}` : count;
}
