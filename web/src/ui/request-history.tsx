// A request's history, in the order it happened: who opened it, stated each status or wrote about
// it, when (by the sending device's clock), with what grounds, reference and text; and under each
// step the signed receipts: the relay's "stored", each device's "delivered" (it received it: not
// that anyone read it) and each person's "acknowledged" (a person confirmed it).
import type { RequestEvent, RequestStatus, RequestView } from '@liaison/client';
import { useState } from 'preact/hooks';
import { formatTime, t } from '../i18n/i18n.js';
import type { Session } from '../state/session.js';
import { ErrorLine } from './error-line.js';
import { describeError } from './errors.js';
import { statusName } from './request-words.js';

const FINAL: readonly (RequestStatus | 'open')[] = ['executed', 'refused', 'withdrawn'];

/**
 * Why each ignored status does not count, from the history itself: the SDK says so in English for
 * developers; the page says it in the reader's language (a status after the request ended, or one
 * the other side states).
 */
function ignoredReasons(view: RequestView): Map<string, 'ended' | 'side'> {
  const reasons = new Map<string, 'ended' | 'side'>();
  let status: RequestStatus | 'open' = 'open';
  for (const event of view.history) {
    if (!event.status) continue;
    if (event.statusIgnored) reasons.set(event.messageId, FINAL.includes(status) ? 'ended' : 'side');
    else status = event.status;
  }
  return reasons;
}

function Acknowledge(props: { session: Session; view: RequestView; event: RequestEvent }) {
  const { session, view, event } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  return (
    <p class="request-acknowledge">
      <button
        type="button"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(undefined);
          try {
            await session.acknowledgeMessage(event.messageId, session.requests.other(view));
          } catch (e) {
            setError(describeError(e));
            setBusy(false);
          }
        }}
      >
        {t('request.acknowledge')}
      </button>
      <ErrorLine message={error} inline />
    </p>
  );
}

function Step(props: { session: Session; view: RequestView; event: RequestEvent; ignored?: 'ended' | 'side' }) {
  const { session, view, event, ignored } = props;
  const self = session.client.contactPointId;
  const name = (id: string) => session.party(id)?.displayName ?? id;
  const device = (id: string) => session.requests.deviceName(id) ?? `${id.slice(0, 8)}…`;
  const by = name(event.by);
  const what =
    event.change === 'opened'
      ? t('request.event.opened', { name: by })
      : event.change === 'status' && event.status
        ? t('request.event.status', { name: by, status: statusName(event.status) })
        : t('request.event.message', { name: by });
  // A person of the other side acknowledges what came from this side, once.
  const fromOtherSide = (event.by === view.requesting) !== (session.requests.side(view) === 'requesting');
  const acknowledged = event.receipts.some((r) => r.kind === 'acknowledged' && r.contactPointId === self);
  return (
    <li class={`request-step ${event.by === self ? 'out' : 'in'}`}>
      <p class="step-head">
        <strong>{what}</strong>
      </p>
      <p class="meta">
        <time dateTime={new Date(event.at).toISOString()}>
          {t('request.event.sentAt', { time: formatTime(event.at) })}
        </time>
        {' · '}
        {t('request.event.signedBy', { device: device(event.byDevice) })}
      </p>
      {ignored && (
        <p class="badge warning" role="note">
          {ignored === 'ended' ? t('request.event.ignoredEnded') : t('request.event.ignoredSide')}
        </p>
      )}
      {(event.reference || event.grounds) && (
        <dl class="facts">
          {event.reference && (
            <>
              <dt>{t('request.event.reference')}</dt>
              <dd>{event.reference}</dd>
            </>
          )}
          {event.grounds && (
            <>
              <dt>{t('request.event.grounds')}</dt>
              <dd class="text">{event.grounds}</dd>
            </>
          )}
        </dl>
      )}
      {event.subject && event.change !== 'opened' && <p class="subject">{event.subject}</p>}
      {event.text && <p class="text">{event.text}</p>}
      {event.attachments > 0 && <p class="meta">{t('request.event.files', { count: event.attachments })}</p>}
      <ul class="receipts signed" aria-label={t('request.receipts')}>
        {event.storedAt !== undefined && (
          <li class="receipt stored">{t('request.receipt.stored', { time: formatTime(event.storedAt) })}</li>
        )}
        {event.receipts.map((r) => (
          <li key={`${r.kind}/${r.deviceId}/${r.at}`} class={`receipt ${r.kind}`}>
            {r.kind === 'delivered'
              ? t('request.receipt.delivered', {
                  device: device(r.deviceId),
                  name: name(r.contactPointId),
                  time: formatTime(r.at),
                })
              : t('request.receipt.acknowledged', {
                  name: name(r.contactPointId),
                  time: formatTime(r.at),
                  device: device(r.deviceId),
                })}
          </li>
        ))}
        {event.storedAt === undefined && event.receipts.length === 0 && (
          <li class="receipt none">{t('request.receipt.none')}</li>
        )}
      </ul>
      {fromOtherSide && !acknowledged && <Acknowledge session={session} view={view} event={event} />}
    </li>
  );
}

export function RequestHistory(props: { session: Session; view: RequestView }) {
  const { session, view } = props;
  const ignored = ignoredReasons(view);
  return (
    <section class="request-history" aria-labelledby="request-history-title">
      <h3 id="request-history-title">{t('request.history')}</h3>
      <p class="hint">{t('request.historyHint')}</p>
      <ol class="request-steps">
        {view.history.map((event) => (
          <Step
            key={event.messageId}
            session={session}
            view={view}
            event={event}
            ignored={ignored.get(event.messageId)}
          />
        ))}
      </ol>
    </section>
  );
}
