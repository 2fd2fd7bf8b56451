// The unlocked page: a header that always shows who is signed in and the connection, a side column
// with conversations, case rooms and cases, and the screen the address names.
import { useEffect, useState } from 'preact/hooks';
import { countryName, formatTime, t } from '../i18n/i18n.js';
import { go, href, linkTo, route } from '../state/route.js';
import type { Session } from '../state/session.js';
import { CaseView } from './case-view.js';
import { Compose } from './compose.js';
import { ConnectionStatus } from './connection-status.js';
import { ConversationView } from './conversation.js';
import { Directory } from './directory.js';
import { describeCode } from './errors.js';
import { KeyChangeDialog } from './key-change.js';
import { LanguageSwitcher } from './language-switcher.js';
import { RequestList } from './request-list.js';
import { NewRequest } from './request-new.js';
import { RequestScreen } from './request-view.js';
import { RoomScreen, roomMeta } from './room.js';
import { AddToRoom } from './room-add.js';
import { NewRoom } from './room-new.js';
import { SafetyNumber } from './safety-number.js';
import { SearchView } from './search.js';
import { Settings } from './settings.js';

function Screen(props: { session: Session }) {
  const current = route.value;
  switch (current.screen) {
    case 'conversation':
      return <ConversationView session={props.session} peer={current.peer} />;
    case 'case':
      return <CaseView session={props.session} reference={current.reference} />;
    case 'request':
      return <RequestScreen key={current.requestId} session={props.session} requestId={current.requestId} />;
    case 'request-new':
      return <NewRequest key={current.peer} session={props.session} peer={current.peer} />;
    case 'compose':
      return <Compose session={props.session} to={current.to} reference={current.reference} />;
    case 'directory':
      return <Directory session={props.session} />;
    case 'room':
      return <RoomScreen key={current.roomId} session={props.session} roomId={current.roomId} />;
    case 'room-new':
      return <NewRoom session={props.session} />;
    case 'room-add':
      return <AddToRoom session={props.session} roomId={current.roomId} />;
    case 'safety':
      return <SafetyNumber session={props.session} peer={current.peer} />;
    case 'search':
      return <SearchView session={props.session} query={current.query} />;
    case 'settings':
      return <Settings session={props.session} />;
    case 'home':
      return (
        <section class="empty" aria-labelledby="home-title">
          <h2 id="home-title">{t('home.title')}</h2>
          <p>{t('home.hint')}</p>
          <p>
            <a class="button primary" href={href({ screen: 'compose' })}>
              {t('nav.compose')}
            </a>{' '}
            <a class="button" href={href({ screen: 'directory' })}>
              {t('nav.directory')}
            </a>
          </p>
        </section>
      );
  }
}

function Sidebar(props: { session: Session }) {
  const conversations = props.session.history.conversations.value;
  const rooms = props.session.history.rooms.value;
  const requests = props.session.requests.views.value;
  // A case is named by the messages that give its reference, and by the rooms opened for it.
  const cases = [
    ...props.session.history.cases.value,
    ...rooms
      .filter((r) => r.room.caseReference !== undefined)
      .map((r) => ({ reference: r.room.caseReference as string, lastAt: r.lastAt })),
  ]
    .sort((a, b) => b.lastAt - a.lastAt)
    .filter((c, i, all) => all.findIndex((o) => o.reference === c.reference) === i);
  const current = route.value;
  const [query, setQuery] = useState('');
  return (
    <nav class="sidebar" aria-label={t('nav.label')}>
      <p class="nav-actions">
        <a class="button primary" href={href({ screen: 'compose' })}>
          {t('nav.compose')}
        </a>
        <a class="button" href={href({ screen: 'directory' })}>
          {t('nav.directory')}
        </a>
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          go({ screen: 'search', query });
        }}
      >
        <label>
          {t('search.label')}
          <input type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
      </form>
      <h2 id="conversations-title">{t('nav.conversations')}</h2>
      {conversations.length === 0 && <p class="hint">{t('nav.noConversations')}</p>}
      <ul class="list" aria-labelledby="conversations-title">
        {conversations.map((c) => {
          const active =
            (current.screen === 'conversation' || current.screen === 'request-new') &&
            current.peer === c.peer.contactPointId;
          return (
            <li key={c.peer.contactPointId}>
              <a
                href={href({ screen: 'conversation', peer: c.peer.contactPointId })}
                aria-current={active ? 'page' : undefined}
                class={active ? 'active' : ''}
              >
                <span class="name">
                  {c.peer.displayName}
                  {props.session.history.trust(c.peer.contactPointId).verified && (
                    <span class="badge verified">{t('trust.verifiedBadge')}</span>
                  )}
                </span>
                <span class="meta">
                  {countryName(c.peer.country)} · {formatTime(c.lastAt)}
                </span>
                {c.lastSubject && <span class="preview">{c.lastSubject}</span>}
                <span class="marks">
                  {c.urgentOpen.length > 0 && (
                    <span class="badge urgent">{t('nav.urgentMark', { count: c.urgentOpen.length })}</span>
                  )}
                  {c.unread > 0 && <span class="badge unread">{t('nav.unreadMark', { count: c.unread })}</span>}
                  {props.session.history.trust(c.peer.contactPointId).keyChanged && (
                    <span class="badge warning">{t('trust.changedBadge')}</span>
                  )}
                </span>
              </a>
            </li>
          );
        })}
      </ul>
      <div class="list-head">
        <h2 id="rooms-title">{t('nav.rooms')}</h2>
        <a class="button small" href={href({ screen: 'room-new' })}>
          {t('nav.newRoom')}
        </a>
      </div>
      {rooms.length === 0 && <p class="hint">{t('nav.noRooms')}</p>}
      <ul class="list" aria-labelledby="rooms-title">
        {rooms.map((r) => {
          const active =
            (current.screen === 'room' || current.screen === 'room-add') && current.roomId === r.room.roomId;
          return (
            <li key={r.room.roomId}>
              <a
                href={href({ screen: 'room', roomId: r.room.roomId })}
                aria-current={active ? 'page' : undefined}
                class={active ? 'active' : ''}
              >
                <span class="name">{r.room.title}</span>
                <span class="meta">{roomMeta(r)}</span>
                {r.lastSubject && <span class="preview">{r.lastSubject}</span>}
                <span class="marks">
                  {r.unread > 0 && <span class="badge unread">{t('nav.unreadMark', { count: r.unread })}</span>}
                  {!r.room.role && (
                    <span class="badge warning">{r.ended?.left ? t('room.leftBadge') : t('room.endedBadge')}</span>
                  )}
                </span>
              </a>
            </li>
          );
        })}
      </ul>
      <h2 id="requests-title">{t('nav.requests')}</h2>
      {requests.length === 0 && <p class="hint">{t('nav.noRequests')}</p>}
      <RequestList session={props.session} views={requests} labelledBy="requests-title" />
      <h2 id="cases-title">{t('nav.cases')}</h2>
      {cases.length === 0 && <p class="hint">{t('nav.noCases')}</p>}
      <ul class="list" aria-labelledby="cases-title">
        {cases.map((c) => (
          <li key={c.reference}>
            <a {...linkTo({ screen: 'case', reference: c.reference })}>
              <span class="name">{c.reference}</span>
              <span class="meta">{formatTime(c.lastAt)}</span>
            </a>
          </li>
        ))}
      </ul>
      <p>
        <a href={href({ screen: 'settings' })}>{t('nav.settings')}</a>
      </p>
    </nav>
  );
}

export function Shell(props: { session: Session; onLock: () => void }) {
  const self = props.session.self;
  const problem = props.session.problem.value;
  useEffect(() => {
    document.title = t('app.title');
  });
  return (
    <div class="shell">
      <header class="top">
        <p class="brand">Liaison</p>
        <p class="self">
          <strong>{self.displayName}</strong> · {self.role} · {self.authorityName} ({countryName(self.country)})
        </p>
        <ConnectionStatus session={props.session} />
        <LanguageSwitcher />
        <button type="button" onClick={props.onLock}>
          {t('lock.now')}
        </button>
      </header>
      {problem && (
        <p class="notice" role="alert">
          {describeCode(problem)}{' '}
          <button type="button" class="link" onClick={() => (props.session.problem.value = undefined)}>
            {t('common.dismiss')}
          </button>
        </p>
      )}
      <div class="layout">
        <Sidebar session={props.session} />
        <main class="main">
          <Screen session={props.session} />
        </main>
      </div>
      <KeyChangeDialog session={props.session} />
    </div>
  );
}
