// A conversation with one counterpart. Only the newest bucket of messages is read when it opens;
// scrolling to the top reads the one before, so a long history opens as fast as a short one.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n/i18n.js';
import type { StoredMessage } from '../state/history.js';
import { href } from '../state/route.js';
import type { Session } from '../state/session.js';
import { Compose } from './compose.js';
import { MessageView } from './message.js';
import { MessageLog } from './message-log.js';
import { PartyLine } from './party.js';
import { RecordExport } from './record-export.js';
import { RequestList } from './request-list.js';

function useMessages(session: Session, peer: string) {
  const history = session.history;
  const conversation = history.conversations.value.find((c) => c.peer.contactPointId === peer);
  const buckets = conversation?.buckets ?? 0;
  const [from, setFrom] = useState(Math.max(0, buckets - 1));
  const [messages, setMessages] = useState<StoredMessage[]>([]);
  const revision = history.revision.value;
  useEffect(() => setFrom(Math.max(0, buckets - 1)), [peer]);
  useEffect(() => {
    let live = true;
    void (async () => {
      const loaded: StoredMessage[] = [];
      for (let n = Math.min(from, Math.max(0, buckets - 1)); n < buckets; n++)
        loaded.push(...(await history.bucket(peer, n)));
      if (live) setMessages(loaded);
    })();
    return () => {
      live = false;
    };
  }, [peer, from, buckets, revision]);
  return { conversation, messages, more: from > 0, loadEarlier: () => setFrom((n) => Math.max(0, n - 1)) };
}

/** Whether a session with a device of this counterpart is classical (a device that predates hybrid sessions). */
function useClassicalSession(session: Session, peer: string): boolean {
  // Kept with the counterpart it was read for: another conversation never shows this one's mark.
  const [classical, setClassical] = useState<{ peer: string; classical: boolean }>();
  const revision = session.history.revision.value;
  useEffect(() => {
    let live = true;
    session.client
      .sessions(peer)
      .then((devices) => live && setClassical({ peer, classical: devices.some((d) => d.protection === 'classical') }))
      // Advisory only: offline, the directory lookup fails and the mark stays as it was.
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [peer, revision]);
  return classical?.peer === peer && classical.classical;
}

export function ConversationView(props: { session: Session; peer: string }) {
  const { session, peer } = props;
  const { conversation, messages, more, loadEarlier } = useMessages(session, peer);
  const classical = useClassicalSession(session, peer);
  const party = conversation?.peer ?? session.party(peer);
  const requests = session.requests.withPeer(peer);

  useEffect(() => {
    if (conversation?.unread) void session.history.markRead(peer);
  }, [peer, conversation?.unread]);

  if (!party) {
    return (
      <section>
        <p>{t('conversation.unknown')}</p>
      </section>
    );
  }
  return (
    <section class="conversation" aria-labelledby="conversation-title">
      <header class="conversation-head">
        <h2 id="conversation-title">
          <PartyLine party={party} showLocalTime />
        </h2>
        <div class="conversation-bar">
          <p>
            {session.history.trust(peer).verified ? (
              <span class="badge verified">{t('trust.verifiedBadge')}</span>
            ) : (
              <span class="badge unverified">{t('trust.notVerified')}</span>
            )}{' '}
            <a href={href({ screen: 'safety', peer })}>{t('trust.compareLink')}</a>
          </p>
          <div class="conversation-actions">
            <a class="button" href={href({ screen: 'request-new', peer })}>
              {t('request.new')}
            </a>
            <RecordExport session={session} subject={{ conversation: peer }} name={peer} compact />
          </div>
        </div>
        {classical && (
          <p class="hint">
            <span class="badge warning">{t('trust.classicalBadge')}</span> {t('trust.classicalHint')}
          </p>
        )}
        {requests.length > 0 && (
          <section class="conversation-requests" aria-labelledby="conversation-requests-title">
            <h3 id="conversation-requests-title">{t('request.withPeer', { name: party.displayName })}</h3>
            <RequestList session={session} views={requests} labelledBy="conversation-requests-title" inline />
          </section>
        )}
      </header>
      <MessageLog
        label={t('conversation.messages', { name: party.displayName })}
        shown={messages}
        more={more}
        loadEarlier={loadEarlier}
      >
        {messages.map((m) => (
          <MessageView key={m.messageId} session={session} message={m} />
        ))}
      </MessageLog>
      <Compose session={session} to={peer} inline />
    </section>
  );
}
