import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n/i18n.js';
import type { StoredMessage } from '../state/history.js';
import { linkTo } from '../state/route.js';
import type { Session } from '../state/session.js';
import { MessageView } from './message.js';

/** Every message of one case reference, with every counterpart, newest first. */
export function CaseView(props: { session: Session; reference: string }) {
  const [messages, setMessages] = useState<StoredMessage[]>();
  const revision = props.session.history.revision.value;
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
      {messages?.map((m) => (
        <MessageView key={m.messageId} session={props.session} message={m} showPeer />
      ))}
    </section>
  );
}
