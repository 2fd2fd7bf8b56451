// One request between authorities: who asks whom, for what, on which legal basis, by when, under
// which references, where it stands; its history with the signed receipts of each step; what this
// contact point may do with it; and its case record to export.
import type { RequestView } from '@liaison/client';
import { formatTime, t } from '../i18n/i18n.js';
import type { PartyName } from '../state/history.js';
import { href } from '../state/route.js';
import type { Session } from '../state/session.js';
import { now } from './clock.js';
import { PartyLine } from './party.js';
import { RecordExport } from './record-export.js';
import { RequestActions } from './request-answer.js';
import { RequestHistory } from './request-history.js';
import { isClosed, kindName, statusName, statusTone } from './request-words.js';

/** A side of the request: the contact point as verified, and the reference it gave the request. */
function Side(props: { session: Session; contactPointId: string; reference: string | undefined }) {
  const { session, contactPointId, reference } = props;
  const party: PartyName = session.party(contactPointId) ?? {
    contactPointId,
    displayName: contactPointId,
    role: '',
    authorityName: '',
    country: '',
    networkName: '',
  };
  return (
    <>
      <PartyLine party={party} />
      {contactPointId === session.client.contactPointId && <span class="meta"> {t('request.you')}</span>}
      <span class="side-reference">
        {reference ? t('request.sideReference', { reference }) : t('request.sideNoReference')}
      </span>
    </>
  );
}

/** What names the exported files: this side's reference, the other's, or the start of the request's id. */
function fileName(session: Session, view: RequestView): string {
  const ours = session.requests.side(view) === 'requesting' ? view.references.requesting : view.references.requested;
  return ours ?? view.references.requesting ?? view.references.requested ?? view.requestId.slice(0, 8);
}

export function RequestScreen(props: { session: Session; requestId: string }) {
  const { session, requestId } = props;
  const view = session.requests.views.value.find((v) => v.requestId === requestId);
  if (!view) {
    return (
      <section>
        <p>{t('request.unknown')}</p>
      </section>
    );
  }
  const other = session.requests.other(view);
  const otherName = session.party(other)?.displayName ?? other;
  const overdue = view.deadline !== undefined && !isClosed(view) && view.deadline < now.value;
  return (
    <section class="request" aria-labelledby="request-view-title">
      <header class="request-head">
        <div class="request-title">
          <h2 id="request-view-title">{t('request.heading', { kind: kindName(view.kind) })}</h2>
          {view.subject && <p class="request-subject">{view.subject}</p>}
          <p>
            <a href={href({ screen: 'conversation', peer: other })}>
              {t('request.backToConversation', { name: otherName })}
            </a>
          </p>
        </div>
        <p class="request-status">
          <span class="visually-hidden">{t('request.statusLabel')}: </span>
          <span class={`badge status large ${statusTone(view.status)}`}>{statusName(view.status)}</span>
        </p>
      </header>
      <div class="request-body">
        <div class="request-main">
          <dl class="facts request-facts">
            <dt>{t('request.requesting')}</dt>
            <dd>
              <Side session={session} contactPointId={view.requesting} reference={view.references.requesting} />
            </dd>
            <dt>{t('request.requested')}</dt>
            <dd>
              <Side session={session} contactPointId={view.requested} reference={view.references.requested} />
            </dd>
            <dt>{t('request.kindLabel')}</dt>
            <dd>{kindName(view.kind)}</dd>
            <dt>{t('request.legalBasisLabel')}</dt>
            <dd class="text">{view.legalBasis}</dd>
            {view.deadline !== undefined && (
              <>
                <dt>{t('request.deadlineLabel')}</dt>
                <dd>
                  {formatTime(view.deadline)}{' '}
                  {overdue && <span class="badge urgent">{t('request.deadlinePassed')}</span>}
                </dd>
              </>
            )}
            <dt>{t('request.openedLabel')}</dt>
            <dd>{formatTime(view.openedAt)}</dd>
          </dl>
          <RequestHistory session={session} view={view} />
        </div>
        <div class="request-side">
          <RequestActions session={session} view={view} />
          <RecordExport session={session} subject={{ request: view.requestId }} name={fileName(session, view)} />
        </div>
      </div>
    </section>
  );
}
