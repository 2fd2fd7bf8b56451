// One message as the practitioner reads it: who sent it (as verified), when, its handling codes,
// its text and files, and for what this contact point sent: the receipts and the escalation.
import type { Attachment } from '@liaison/client';
import { useState } from 'preact/hooks';
import { formatBytes, formatDuration, formatTime, languageName, t } from '../i18n/i18n.js';
import type { StoredMessage, StoredRequestMark } from '../state/history.js';
import { href } from '../state/route.js';
import type { Session } from '../state/session.js';
import { now } from './clock.js';
import { ErrorLine } from './error-line.js';
import { describeCode, describeError } from './errors.js';
import { PartyLine } from './party.js';
import { Progress } from './progress.js';
import { kindName, statusName } from './request-words.js';
import { UrgentTimeline } from './urgent-timeline.js';

function AttachmentRow(props: { session: Session; message: StoredMessage; attachment: Attachment }) {
  const { session, message, attachment } = props;
  const [state, setState] = useState<'idle' | 'busy' | 'done'>('idle');
  const [error, setError] = useState<string>();
  const transfer = session.transfers.value[`down:${attachment.blobId}`];
  const save = async () => {
    setState('busy');
    setError(undefined);
    try {
      const blob = await session.download(message, attachment);
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = attachment.name;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setState('done');
    } catch (e) {
      setError(describeError(e));
      setState('idle');
    }
  };
  return (
    <li class="attachment">
      <span class="file-name">{attachment.name}</span> <span class="meta">{formatBytes(attachment.size)}</span>{' '}
      <button
        type="button"
        onClick={save}
        disabled={state === 'busy'}
        aria-label={t('attachment.saveNamed', { name: attachment.name })}
      >
        {state === 'busy' ? t('attachment.saving') : t('attachment.save')}
      </button>
      {state === 'busy' && transfer && (
        <Progress transfer={transfer} label={t('attachment.downloading', { name: attachment.name })} />
      )}
      {state === 'done' && <span class="ok"> {t('attachment.verified')}</span>}
      <ErrorLine message={error} inline />
    </li>
  );
}

function Receipts(props: { message: StoredMessage; session: Session }) {
  const { message, session } = props;
  if (message.state === 'waiting') {
    const uploads = Object.values(session.transfers.value).filter(
      (x) => x.direction === 'up' && x.messageId === message.messageId && x.transferred < x.total,
    );
    return (
      <div class="receipts">
        <p class="receipt waiting">{t('receipt.waiting')}</p>
        {uploads.map((u) => (
          <Progress key={u.blobId} transfer={u} label={t('attachment.uploading', { name: u.name })} />
        ))}
      </div>
    );
  }
  if (message.state === 'failed' && message.failure === 'DISCARDED') {
    return <p class="receipt failed">{t('receipt.discarded')}</p>;
  }
  if (message.state === 'failed') {
    return (
      <p class="receipt failed" role="alert">
        {t('receipt.failed', { reason: describeCode(message.failure ?? 'INTERNAL') })}{' '}
        {session.retryable(message) && (
          <button type="button" onClick={() => void session.retry(message)}>
            {t('receipt.retry')}
          </button>
        )}{' '}
        <button type="button" onClick={() => void session.discard(message)}>
          {t('receipt.discard')}
        </button>
      </p>
    );
  }
  // Grouped by contact point: the recipient, and whoever of its escalation chain the message reached.
  const byContactPoint = new Map<string, number>();
  for (const key of Object.keys(message.delivered ?? {})) {
    const contactPoint = key.split('/')[0] ?? key;
    byContactPoint.set(contactPoint, (byContactPoint.get(contactPoint) ?? 0) + 1);
  }
  const times = Object.values(message.delivered ?? {});
  return (
    <ul class="receipts" aria-label={t('receipt.label')}>
      <li class="receipt stored">{t('receipt.stored', { time: formatTime(message.at) })}</li>
      {byContactPoint.size > 0 && (
        <li class="receipt delivered">
          {t('receipt.delivered', {
            who: [...byContactPoint]
              .map(([id, count]) => t('receipt.deliveredTo', { name: session.party(id)?.displayName ?? id, count }))
              .join(', '),
            time: formatTime(Math.max(...times)),
          })}
        </li>
      )}
      {message.acknowledged && !message.urgent && (
        <li class="receipt acknowledged">
          {t('receipt.acknowledged', {
            name: session.party(message.acknowledged.by)?.displayName ?? message.acknowledged.by,
            time: formatTime(message.acknowledged.at),
          })}
        </li>
      )}
      {message.expired && (
        <li class="receipt expired">{t('receipt.expired', { time: formatTime(message.expired) })}</li>
      )}
    </ul>
  );
}

function AcknowledgeBox(props: { session: Session; message: StoredMessage }) {
  const { session, message } = props;
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  if (message.acknowledged) {
    return (
      <p class="ok">
        {t('urgent.acknowledgedBy', {
          name:
            message.acknowledged.by === session.client.contactPointId
              ? t('urgent.you')
              : (session.party(message.acknowledged.by)?.displayName ?? message.acknowledged.by),
          time: formatTime(message.acknowledged.at),
        })}
      </p>
    );
  }
  const left = message.deadline ? message.deadline - (now.value && session.client.relayNow()) : undefined;
  return (
    <section class="acknowledge" aria-label={t('urgent.acknowledgeGroup')}>
      {left !== undefined && (
        <p class="time-left">{left > 0 ? t('urgent.timeLeft', { left: formatDuration(left) }) : t('urgent.overdue')}</p>
      )}
      <button
        type="button"
        class="primary urgent"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await session.acknowledge(message);
          } catch (e) {
            setError(describeError(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        {t('urgent.acknowledge')}
      </button>
      <ErrorLine message={error} inline />
    </section>
  );
}

/** A small mark on a message that opened a request or is about one: a link to the request's timeline. */
function RequestBadge(props: { request: StoredRequestMark }) {
  const { request } = props;
  const label =
    request.change === 'opened' && request.kind
      ? t('message.request.opened', { kind: kindName(request.kind) })
      : request.change === 'status' && request.status
        ? t('message.request.status', { status: statusName(request.status) })
        : t('message.request.message');
  return (
    <p class="request-mark">
      <a class="badge request" href={href({ screen: 'request', requestId: request.requestId })}>
        {label}
      </a>
    </p>
  );
}

export function MessageView(props: { session: Session; message: StoredMessage; showPeer?: boolean }) {
  const { session, message } = props;
  const outgoing = message.direction === 'out';
  const author = outgoing ? session.self : message.sender;
  return (
    <article
      class={`message ${outgoing ? 'out' : 'in'} ${message.priority === 'urgent' ? 'urgent' : ''}`}
      aria-label={t(outgoing ? 'message.sentLabel' : 'message.receivedLabel', {
        name: author?.displayName ?? '',
        time: formatTime(message.at),
      })}
    >
      <header>
        {author && <PartyLine party={author} />}
        {outgoing && props.showPeer && !message.room && (
          <span class="meta"> → {session.party(message.peer)?.displayName ?? message.peer}</span>
        )}
        <time dateTime={new Date(message.at).toISOString()}>{formatTime(message.at)}</time>
        {message.sender && (
          <span class="meta device"> · {t('message.device', { name: message.sender.deviceName })}</span>
        )}
      </header>
      {message.senderKeyChanged && (
        <p class="badge warning" role="note">
          {t('message.keyChanged')}
        </p>
      )}
      {message.priority === 'urgent' && <p class="badge urgent">{t('message.urgent')}</p>}
      {message.request && <RequestBadge request={message.request} />}
      {message.subject && <h3 class="subject">{message.subject}</h3>}
      <dl class="facts">
        {message.reference && (
          <>
            <dt>{t('message.reference')}</dt>
            <dd>{message.reference}</dd>
          </>
        )}
        {message.request?.legalBasis && (
          <>
            <dt>{t('message.legalBasis')}</dt>
            <dd>{message.request.legalBasis}</dd>
          </>
        )}
        {message.request?.deadline !== undefined && (
          <>
            <dt>{t('message.requestDeadline')}</dt>
            <dd>{formatTime(message.request.deadline)}</dd>
          </>
        )}
        {message.request?.grounds && (
          <>
            <dt>{t('message.grounds')}</dt>
            <dd class="text">{message.request.grounds}</dd>
          </>
        )}
        {message.language && (
          <>
            <dt>{t('message.language')}</dt>
            <dd>{languageName(message.language)}</dd>
          </>
        )}
      </dl>
      {message.handling && message.handling.length > 0 && (
        <ul class="handling" aria-label={t('message.handling')}>
          {message.handling.map((code) => (
            <li key={code} class="badge handling-code">
              {t(`handling.${code}`)}
            </li>
          ))}
        </ul>
      )}
      {message.text && <p class="text">{message.text}</p>}
      {message.attachments && message.attachments.length > 0 && (
        <ul class="attachments" aria-label={t('message.attachments')}>
          {message.attachments.map((a) => (
            <AttachmentRow key={a.blobId} session={session} message={message} attachment={a} />
          ))}
        </ul>
      )}
      {outgoing && message.files && (
        <ul class="attachments" aria-label={t('message.attachments')}>
          {message.files.map((f) => (
            <li key={f.name} class="attachment">
              <span class="file-name">{f.name}</span> <span class="meta">{formatBytes(f.size)}</span>
            </li>
          ))}
        </ul>
      )}
      {outgoing && <Receipts message={message} session={session} />}
      {outgoing && message.urgent && <UrgentTimeline session={session} state={message.urgent} />}
      {!outgoing && message.priority === 'urgent' && <AcknowledgeBox session={session} message={message} />}
    </article>
  );
}
