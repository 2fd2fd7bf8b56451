import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n/i18n.js';
import type { StoredMessage } from '../state/history.js';
import { href, linkTo } from '../state/route.js';
import type { Session } from '../state/session.js';
import { MessageView } from './message.js';

/** The rooms about one case reference, and every message of it, with every counterpart, newest first. */
export function CaseView(props: { session: Session; reference: string }) {
  const [messages, setMessages] = useState<StoredMessage[]>();
  const revision = props.session.history.revision.value;
  const rooms = props.session.history.rooms.value.filter((r) => r.room.caseReference === props.reference);
  useEffect(() => {
    void props.session.history.search('', { reference: props.reference }).then(setMessages);
  }, [props.reference, revision]);
  return (
    <section aria-labelledby="case-title">
      <h2 id="case-title">{t('case.title', { reference: props.reference })}</h2>
      <p>
        <a class="button" {...linkTo({ screen: 'compose', reference: props.reference })}>
          {t('case.write')}
        </a>
      </p>
      {rooms.length > 0 && (
        <>
          <h3>{t('case.rooms')}</h3>
          <ul class="results">
            {rooms.map((r) => (
              <li key={r.room.roomId}>
                <a href={href({ screen: 'room', roomId: r.room.roomId })}>{r.room.title}</a>{' '}
                <span class="meta">{t('room.memberCount', { count: r.room.members.length })}</span>
              </li>
            ))}
          </ul>
        </>
      )}
      {messages?.map((m) => (
        <MessageView key={m.messageId} session={props.session} message={m} showPeer />
      ))}
    </section>
  );
}
