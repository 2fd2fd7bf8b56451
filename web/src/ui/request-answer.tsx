// What this contact point may do with a request: the requested side states a status (never
// "withdrawn"; a refusal with its grounds, "further information needed" with what is needed if it
// likes), with a message, files and its reference; the requesting side writes about it (the further
// information asked for) or withdraws it; nobody states anything once it is executed, refused or
// withdrawn. The SDK refuses the rest anyway (INVALID_INPUT): the other side may have closed the
// request a moment ago, and the page then says so.
import type { RequestStatus, RequestView } from '@liaison/client';
import { useId, useState } from 'preact/hooks';
import { t } from '../i18n/i18n.js';
import type { Session } from '../state/session.js';
import { ConfirmDialog } from './confirm.js';
import { ErrorLine } from './error-line.js';
import { describeError, errorCode } from './errors.js';
import { ChosenFiles, FilePicker } from './file-picker.js';
import { Progress } from './progress.js';
import { isClosed, statusesFor, statusName } from './request-words.js';

/** A refusal in the request's words, read against the request as it is now (it may have just been closed). */
function describeRequestError(session: Session, requestId: string, status: RequestStatus | undefined) {
  return (error: unknown): string => {
    if (errorCode(error) !== 'INVALID_INPUT') return describeError(error);
    const now = session.requests.get(requestId);
    if (now && isClosed(now)) return t('request.error.ended', { status: statusName(now.status) });
    if (now && status && !statusesFor(session.requests.side(now)).includes(status)) return t('request.error.side');
    return describeError(error);
  };
}

/**
 * What both forms share: the files chosen, their uploads' progress, the refusal shown, and sending
 * an answer to the request (`sent` clears the form once the relay has it).
 */
function useAnswer(session: Session, view: RequestView) {
  const id = useId();
  const [files, setFiles] = useState<File[]>([]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const uploads = Object.values(session.transfers.value).filter(
    (x) => x.direction === 'up' && x.messageId === id && x.transferred < x.total,
  );
  const send = async (
    answer: Parameters<Session['requests']['answer']>[1],
    status: RequestStatus | undefined,
    sent: () => void,
  ) => {
    setBusy(true);
    try {
      await session.requests.answer(view, answer, files, (progress) =>
        session.progress({ ...progress, direction: 'up', messageId: id }),
      );
      setFiles([]);
      sent();
    } catch (e) {
      setError(describeRequestError(session, view.requestId, status)(e));
    } finally {
      setBusy(false);
    }
  };
  const attachments = (
    <>
      <FilePicker label={t('compose.attach')} onFiles={(picked) => setFiles([...files, ...picked])} />
      <ChosenFiles files={files} onChange={setFiles} />
      {uploads.map((u) => (
        <Progress key={u.blobId} transfer={u} label={t('attachment.uploading', { name: u.name })} />
      ))}
      <ErrorLine message={error} />
    </>
  );
  return { id, busy, setError, send, attachments };
}

/** The requested side: a status, its grounds, our reference, a message and files. */
function StatusForm(props: { session: Session; view: RequestView }) {
  const { session, view } = props;
  const { id, busy, setError, send, attachments } = useAnswer(session, view);
  const [status, setStatus] = useState<RequestStatus | 'none' | ''>('');
  const [grounds, setGrounds] = useState('');
  const [reference, setReference] = useState(view.references.requested ?? '');
  const [text, setText] = useState('');
  const stated = status === 'none' || status === '' ? undefined : status;
  const withGrounds = stated === 'refused' || stated === 'further-information-needed';

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    if (stated === 'refused' && !grounds.trim()) return setError(t('request.answer.needGrounds'));
    if (!stated && !text.trim()) return setError(t('request.answer.needSomething'));
    await send(
      {
        text,
        ...(stated && { status: stated }),
        ...(withGrounds && grounds.trim() && { grounds: grounds.trim() }),
        ...(reference.trim() && { reference: reference.trim() }),
      },
      stated,
      () => {
        setStatus('');
        setGrounds('');
        setText('');
      },
    );
  };

  return (
    <form class="request-answer" onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{t('request.answer.title')}</h3>
      <label>
        {t('request.answer.status')}
        <select
          value={status}
          disabled={busy}
          onChange={(e) => setStatus(e.currentTarget.value as RequestStatus | 'none')}
        >
          <option value="">{t('request.answer.choose')}</option>
          {statusesFor('requested').map((s) => (
            <option key={s} value={s}>
              {statusName(s)}
            </option>
          ))}
          <option value="none">{t('request.answer.noStatus')}</option>
        </select>
      </label>
      {withGrounds && (
        <label>
          {stated === 'refused' ? t('request.answer.groundsRefused') : t('request.answer.groundsFurther')}
          <textarea
            value={grounds}
            rows={3}
            maxLength={4000}
            disabled={busy}
            aria-required={stated === 'refused' ? 'true' : undefined}
            onInput={(e) => setGrounds(e.currentTarget.value)}
          />
        </label>
      )}
      <label>
        {t('request.answer.reference')}
        <input value={reference} maxLength={100} disabled={busy} onInput={(e) => setReference(e.currentTarget.value)} />
      </label>
      <label>
        {stated ? t('request.answer.text') : t('request.write.text')}
        <textarea value={text} rows={3} disabled={busy} onInput={(e) => setText(e.currentTarget.value)} />
      </label>
      {attachments}
      <button type="submit" class="primary" disabled={busy || status === ''}>
        {busy ? t('request.sending') : t('request.answer.send')}
      </button>
    </form>
  );
}

/** The requesting side: a message about the request (the further information asked for), with files. */
function WriteForm(props: { session: Session; view: RequestView }) {
  const { session, view } = props;
  const { id, busy, setError, send, attachments } = useAnswer(session, view);
  const [text, setText] = useState('');
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    if (!text.trim()) return setError(t('request.answer.needSomething'));
    await send({ text }, undefined, () => setText(''));
  };
  return (
    <form class="request-answer" onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{t('request.write.title')}</h3>
      <label>
        {t('request.write.text')}
        <textarea
          value={text}
          rows={3}
          disabled={busy}
          aria-required="true"
          onInput={(e) => setText(e.currentTarget.value)}
        />
      </label>
      {attachments}
      <button type="submit" class="primary" disabled={busy}>
        {busy ? t('request.sending') : t('request.write.send')}
      </button>
    </form>
  );
}

export function RequestActions(props: { session: Session; view: RequestView }) {
  const { session, view } = props;
  const [withdrawing, setWithdrawing] = useState(false);
  const [withdrawText, setWithdrawText] = useState('');
  const side = session.requests.side(view);
  const otherName = session.party(view.requested)?.displayName ?? view.requested;
  return (
    <div class="request-actions">
      {isClosed(view) ? (
        <p class="room-notice" role="status">
          {t('request.closed', { status: statusName(view.status) })}
        </p>
      ) : side === 'requested' ? (
        <StatusForm session={session} view={view} />
      ) : (
        <>
          <WriteForm session={session} view={view} />
          <p class="actions">
            <button type="button" class="danger" onClick={() => setWithdrawing(true)}>
              {t('request.withdraw')}
            </button>
          </p>
        </>
      )}
      {/* Kept open while the request changes under it: a withdrawal the other side overtook is refused in words. */}
      {withdrawing && (
        <ConfirmDialog
          title={t('request.withdrawConfirm.title')}
          confirm={t('request.withdraw')}
          onConfirm={() => session.requests.answer(view, { status: 'withdrawn', text: withdrawText }, [])}
          onClose={() => {
            setWithdrawing(false);
            setWithdrawText('');
          }}
          describe={describeRequestError(session, view.requestId, 'withdrawn')}
        >
          <p>{t('request.withdrawConfirm.body', { name: otherName })}</p>
          <label>
            {t('request.withdrawConfirm.text', { name: otherName })}
            <textarea value={withdrawText} rows={3} onInput={(e) => setWithdrawText(e.currentTarget.value)} />
          </label>
        </ConfirmDialog>
      )}
    </div>
  );
}
