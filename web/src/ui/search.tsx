import { useEffect, useState } from 'preact/hooks';
import { formatTime, t } from '../i18n/i18n.js';
import type { StoredMessage } from '../state/history.js';
import { href } from '../state/route.js';
import type { Session } from '../state/session.js';

/** Searches the local history, conversations and rooms (decrypted here; the relay never sees a query), by reference, subject and text. */
export function SearchView(props: { session: Session; query: string }) {
  const [found, setFound] = useState<StoredMessage[]>();
  useEffect(() => {
    setFound(undefined);
    void props.session.history.search(props.query).then(setFound);
  }, [props.query]);
  return (
    <section aria-labelledby="search-title">
      <h2 id="search-title">{t('search.title', { query: props.query })}</h2>
      {found === undefined ? (
        <p role="status">{t('search.searching')}</p>
      ) : (
        <>
          <p role="status">{t('search.count', { count: found.length })}</p>
          <ul class="results">
            {found.map((m) => {
              const room = m.room ? props.session.history.room(m.room) : undefined;
              const where = room
                ? t('search.inRoom', { title: room.room.title })
                : (props.session.party(m.peer)?.displayName ?? m.peer);
              return (
                <li key={m.messageId}>
                  <a
                    href={
                      m.room ? href({ screen: 'room', roomId: m.room }) : href({ screen: 'conversation', peer: m.peer })
                    }
                  >
                    <strong>{m.subject ?? m.text.slice(0, 60)}</strong>
                    <span class="meta">
                      {' '}
                      · {where} · {m.reference ?? ''} · {formatTime(m.at)}
                    </span>
                  </a>
                </li>
              );
            })}
          </ul>
        </>
      )}
    </section>
  );
}
