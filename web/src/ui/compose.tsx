// Writing a message: to whom, subject, case reference, language, handling codes, text, files, and
// whether it is urgent (then each level's time to acknowledge).
import type { HandlingCode } from '@liaison/client';
import { useId, useState } from 'preact/hooks';
import { languageName, t } from '../i18n/i18n.js';
import { go, href } from '../state/route.js';
import type { Session } from '../state/session.js';
import { ErrorLine } from './error-line.js';
import { describeError } from './errors.js';
import { ChosenFiles, FilePicker } from './file-picker.js';
import { HandlingChoice } from './handling-choice.js';

const LANGUAGES = [
  'en',
  'fr',
  'ru',
  'es',
  'pt',
  'ar',
  'zh',
  'th',
  'vi',
  'id',
  'ms',
  'km',
  'lo',
  'my',
  'tl',
  'kk',
  'ky',
  'uz',
  'tg',
  'tk',
  'hy',
  'ka',
  'az',
  'wo',
  'ha',
  'sw',
];
const UNITS = { minutes: 60_000, hours: 3_600_000 } as const;

export function Compose(props: {
  session: Session;
  to?: string | undefined;
  reference?: string | undefined;
  inline?: boolean;
}) {
  const { session } = props;
  const id = useId();
  const [to, setTo] = useState(props.to ?? '');
  const [subject, setSubject] = useState('');
  const [reference, setReference] = useState(props.reference ?? '');
  const [language, setLanguage] = useState('');
  const [handling, setHandling] = useState<HandlingCode[]>([]);
  const [text, setText] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [urgent, setUrgent] = useState(false);
  const [within, setWithin] = useState('30');
  const [unit, setUnit] = useState<keyof typeof UNITS>('minutes');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [detailsOpen, setDetailsOpen] = useState(false);
  const recipient = props.to ?? to;
  const known = session.history.conversations.value.map((c) => c.peer);
  const party = session.party(recipient);
  const blocked = session.changedKeys.value.includes(recipient);

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    if (!party) {
      setError(t('compose.pickRecipient'));
      return;
    }
    const acknowledgeWithinMs = urgent ? Math.round(Number(within) * UNITS[unit]) : undefined;
    if (urgent && !(acknowledgeWithinMs && acknowledgeWithinMs > 0)) {
      setError(t('compose.badDeadline'));
      return;
    }
    setBusy(true);
    try {
      await session.send({
        to: party,
        content: {
          text,
          ...(subject.trim() && { subject: subject.trim() }),
          ...(reference.trim() && { reference: reference.trim() }),
          ...(language && { language }),
          ...(handling.length > 0 && { handling }),
        },
        ...(acknowledgeWithinMs && { acknowledgeWithinMs }),
        files,
      });
      setText('');
      setSubject('');
      setFiles([]);
      setUrgent(false);
      if (!props.inline) go({ screen: 'conversation', peer: party.contactPointId });
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  const fields = (
    <>
      <div class="row">
        <label>
          {t('compose.subject')}
          <input value={subject} maxLength={200} onInput={(e) => setSubject(e.currentTarget.value)} />
        </label>
        <label>
          {t('compose.reference')}
          <input value={reference} maxLength={100} onInput={(e) => setReference(e.currentTarget.value)} />
        </label>
        <label>
          {t('compose.language')}
          <select value={language} onChange={(e) => setLanguage(e.currentTarget.value)}>
            <option value="">{t('compose.languageNone')}</option>
            {LANGUAGES.map((code) => (
              <option key={code} value={code}>
                {languageName(code)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <HandlingChoice handling={handling} onChange={setHandling} />
      <fieldset class="urgent-choice">
        <legend>{t('compose.urgency')}</legend>
        <label class="check">
          <input type="checkbox" checked={urgent} onChange={(e) => setUrgent(e.currentTarget.checked)} />
          {t('compose.urgent')}
        </label>
        {urgent && (
          <span class="row">
            <label>
              {t('compose.acknowledgeWithin')}
              <input
                type="number"
                min="0.05"
                step="any"
                value={within}
                required
                onInput={(e) => setWithin(e.currentTarget.value)}
              />
            </label>
            <label>
              {t('compose.unit')}
              <select value={unit} onChange={(e) => setUnit(e.currentTarget.value as keyof typeof UNITS)}>
                <option value="minutes">{t('compose.minutes')}</option>
                <option value="hours">{t('compose.hours')}</option>
              </select>
            </label>
          </span>
        )}
        {urgent && <p class="hint">{t('compose.urgentHint')}</p>}
      </fieldset>
    </>
  );
  const message = (
    <>
      <label>
        {t('compose.text')}
        <textarea value={text} required rows={props.inline ? 3 : 8} onInput={(e) => setText(e.currentTarget.value)} />
      </label>
      <FilePicker
        label={t('compose.attach')}
        hint={props.inline ? undefined : t('compose.attachHint')}
        onFiles={(picked) => setFiles([...files, ...picked])}
      />
      <ChosenFiles files={files} onChange={setFiles} />
    </>
  );
  return (
    <form class={`compose ${props.inline ? 'inline' : ''}`} onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} class={props.inline ? 'visually-hidden' : ''}>
        {party ? t('compose.titleTo', { name: party.displayName }) : t('compose.title')}
      </h2>
      {!props.to && (
        <label>
          {t('compose.to')}
          <select value={to} required onChange={(e) => setTo(e.currentTarget.value)}>
            <option value="">{t('compose.toPlaceholder')}</option>
            {known.map((p) => (
              <option key={p.contactPointId} value={p.contactPointId}>
                {p.displayName} ({p.authorityName})
              </option>
            ))}
          </select>
          <a href={href({ screen: 'directory' })}>{t('compose.findInDirectory')}</a>
        </label>
      )}
      {blocked && (
        <p class="error" role="alert">
          {t('compose.blocked')}
        </p>
      )}
      {props.inline ? (
        <>
          {message}
          <details open={detailsOpen} onToggle={(e) => setDetailsOpen(e.currentTarget.open)}>
            <summary>{t('compose.more')}</summary>
            {fields}
          </details>
        </>
      ) : (
        <>
          {fields}
          {message}
        </>
      )}
      <ErrorLine message={error} />
      <button type="submit" class="primary" disabled={busy || blocked || !recipient}>
        {urgent ? t('compose.sendUrgent') : t('compose.send')}
      </button>
    </form>
  );
}
