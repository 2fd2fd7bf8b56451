// Requests as a list of links to their timelines: kind, the other side, both references, status
// and deadline. The sidebar lists them all; a conversation lists those with its counterpart, one
// line each (`inline`: the counterpart is the conversation's).
import type { RequestView } from '@liaison/client';
import { formatTime, t } from '../i18n/i18n.js';
import { href, route } from '../state/route.js';
import type { Session } from '../state/session.js';
import { now } from './clock.js';
import { isClosed, kindName, statusName, statusTone } from './request-words.js';

export function RequestList(props: {
  session: Session;
  views: readonly RequestView[];
  labelledBy: string;
  inline?: boolean;
}) {
  const { session, views, inline } = props;
  const current = route.value;
  return (
    <ul class={inline ? 'request-chips' : 'list requests'} aria-labelledby={props.labelledBy}>
      {views.map((view) => {
        const active = current.screen === 'request' && current.requestId === view.requestId;
        const other = session.requests.other(view);
        const references = [view.references.requesting, view.references.requested].filter(Boolean).join(' · ');
        const overdue = view.deadline !== undefined && !isClosed(view) && view.deadline < now.value;
        const status = <span class={`badge status ${statusTone(view.status)}`}>{statusName(view.status)}</span>;
        const deadline = view.deadline !== undefined && !isClosed(view) && (
          <span class={`badge ${overdue ? 'urgent' : ''}`}>
            {t('request.deadlineShort', { time: formatTime(view.deadline) })}
          </span>
        );
        if (inline) {
          return (
            <li key={view.requestId}>
              <a href={href({ screen: 'request', requestId: view.requestId })}>
                <strong>{kindName(view.kind)}</strong>
                {references && <span class="meta"> · {references}</span>} {status}
                {deadline}
              </a>
            </li>
          );
        }
        return (
          <li key={view.requestId}>
            <a
              href={href({ screen: 'request', requestId: view.requestId })}
              aria-current={active ? 'page' : undefined}
              class={active ? 'active' : ''}
            >
              <span class="name">{kindName(view.kind)}</span>
              <span class="meta">
                {session.party(other)?.displayName ?? other}
                {references && ` · ${references}`}
              </span>
              {view.subject && <span class="preview">{view.subject}</span>}
              <span class="marks">
                {status}
                {deadline}
              </span>
            </a>
          </li>
        );
      })}
    </ul>
  );
}
