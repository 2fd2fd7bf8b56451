// Opening a request with a counterpart: its kind, the legal basis relied on, our reference, a
// subject, a deadline if there is one, the request itself and its files, handling restrictions.
import { type HandlingCode, REQUEST_KINDS, type RequestKind } from '@liaison/client';
import { useId, useState } from 'preact/hooks';
import { t } from '../i18n/i18n.js';
import { go, href } from '../state/route.js';
import type { Session } from '../state/session.js';
import { ErrorLine } from './error-line.js';
import { describeError } from './errors.js';
import { ChosenFiles, FilePicker } from './file-picker.js';
import { HandlingChoice } from './handling-choice.js';
import { Progress } from './progress.js';
import { kindName } from './request-words.js';

export function NewRequest(props: { session: Session; peer: string }) {
  const { session, peer } = props;
  const id = useId();
  const [kind, setKind] = useState<RequestKind>('mutual-legal-assistance');
  const [legalBasis, setLegalBasis] = useState('');
  const [reference, setReference] = useState('');
  const [subject, setSubject] = useState('');
  const [deadline, setDeadline] = useState('');
  const [handling, setHandling] = useState<HandlingCode[]>([]);
  const [text, setText] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const party = session.party(peer);
  const blocked = session.changedKeys.value.includes(peer);
  // Uploads of this form's files: the request has no id until the relay stored it.
  const uploads = Object.values(session.transfers.value).filter(
    (x) => x.direction === 'up' && x.messageId === id && x.transferred < x.total,
  );

  if (!party) {
    return (
      <section>
        <p>{t('conversation.unknown')}</p>
      </section>
    );
  }

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    // Checked here, in the page's language (the browser's own bubbles speak the browser's).
    if (!legalBasis.trim()) return setError(t('request.missingLegalBasis'));
    if (!text.trim()) return setError(t('request.missingText'));
    // datetime-local gives the reader's local time, which Date reads as local.
    const due = deadline ? new Date(deadline).getTime() : undefined;
    if (due !== undefined && !(due > Date.now())) return setError(t('request.badDeadline'));
    setBusy(true);
    try {
      const requestId = await session.requests.open(
        party,
        {
          kind,
          legalBasis: legalBasis.trim(),
          text,
          ...(due !== undefined && { deadline: due }),
          ...(subject.trim() && { subject: subject.trim() }),
          ...(reference.trim() && { reference: reference.trim() }),
          ...(handling.length > 0 && { handling }),
        },
        files,
        (progress) => session.progress({ ...progress, direction: 'up', messageId: id }),
      );
      go({ screen: 'request', requestId });
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  };

  return (
    <form class="compose request-form" onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t('request.newTitle', { name: party.displayName })}</h2>
      <p class="hint">{t('request.newIntro', { name: party.displayName })}</p>
      {blocked && (
        <p class="error" role="alert">
          {t('compose.blocked')}
        </p>
      )}
      <div class="row">
        <label>
          {t('request.kind')}
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value as RequestKind)}>
            {REQUEST_KINDS.map((k) => (
              <option key={k} value={k}>
                {kindName(k)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('request.ourReference')}
          <input value={reference} maxLength={100} onInput={(e) => setReference(e.currentTarget.value)} />
        </label>
        <label>
          {t('request.deadline')}
          <input
            type="datetime-local"
            value={deadline}
            aria-describedby={`${id}-deadline`}
            onInput={(e) => setDeadline(e.currentTarget.value)}
          />
          <span id={`${id}-deadline`} class="hint">
            {t('request.deadlineHint')}
          </span>
        </label>
      </div>
      <label>
        {t('request.legalBasis')}
        <textarea
          value={legalBasis}
          rows={2}
          maxLength={2000}
          aria-required="true"
          aria-describedby={`${id}-basis`}
          onInput={(e) => {
            setLegalBasis(e.currentTarget.value);
            setError(undefined);
          }}
        />
        <span id={`${id}-basis`} class="hint">
          {t('request.legalBasisHint')}
        </span>
      </label>
      <label>
        {t('request.subject')}
        <input value={subject} maxLength={200} onInput={(e) => setSubject(e.currentTarget.value)} />
      </label>
      <label>
        {t('request.text')}
        <textarea
          value={text}
          rows={8}
          aria-required="true"
          onInput={(e) => {
            setText(e.currentTarget.value);
            setError(undefined);
          }}
        />
      </label>
      <FilePicker
        label={t('compose.attach')}
        hint={t('compose.attachHint')}
        onFiles={(picked) => setFiles([...files, ...picked])}
      />
      <ChosenFiles files={files} onChange={setFiles} />
      {uploads.map((u) => (
        <Progress key={u.blobId} transfer={u} label={t('attachment.uploading', { name: u.name })} />
      ))}
      <HandlingChoice handling={handling} onChange={setHandling} />
      <ErrorLine message={error} />
      <p class="actions">
        <button type="submit" class="primary" disabled={busy || blocked}>
          {busy ? t('request.sending') : t('request.send')}
        </button>
        <a class="button" href={href({ screen: 'conversation', peer })}>
          {t('common.cancel')}
        </a>
      </p>
    </form>
  );
}
