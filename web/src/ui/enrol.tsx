import { useMemo, useState } from 'preact/hooks';
import { countryName, t } from '../i18n/i18n.js';
import type { WebConfig } from '../state/config.js';
import type { DeviceRecord } from '../state/device-record.js';
import {
  checkDesignation,
  completeWithCertificate,
  type EnrolmentFiles,
  enrolWithAccountKey,
  type FileProblem,
  readEnrolmentFiles,
  requestCertificate,
} from '../state/enrolment.js';
import type { Session } from '../state/session.js';
import { ErrorLine } from './error-line.js';
import { describeError } from './errors.js';
import { FilePicker } from './file-picker.js';
import { LanguageSwitcher } from './language-switcher.js';
import { PassphraseField } from './passphrase-field.js';

const MIN_PASSPHRASE = 10;

/** A root's public key in groups of four, to read out against what the network's secretariat publishes. */
function fingerprint(publicKey: string): string {
  return publicKey.match(/.{1,4}/g)?.join(' ') ?? publicKey;
}

function defaultDeviceName(): string {
  const platform = (navigator as Navigator & { userAgentData?: { platform?: string } }).userAgentData?.platform;
  return t('enrol.defaultDeviceName', { platform: platform || navigator.platform || '' }).trim();
}

function NewPassphrase(props: { value: string; confirm: string; onInput: (value: string, confirm: string) => void }) {
  return (
    <fieldset>
      <legend>{t('enrol.storePassphrase.legend')}</legend>
      <p class="hint">{t('enrol.storePassphrase.hint', { min: MIN_PASSPHRASE })}</p>
      <label>
        {t('enrol.storePassphrase.label')}
        <input
          type="password"
          autocomplete="new-password"
          minLength={MIN_PASSPHRASE}
          required
          value={props.value}
          onInput={(e) => props.onInput(e.currentTarget.value, props.confirm)}
        />
      </label>
      <label>
        {t('enrol.storePassphrase.confirm')}
        <input
          type="password"
          autocomplete="new-password"
          required
          value={props.confirm}
          onInput={(e) => props.onInput(props.value, e.currentTarget.value)}
        />
      </label>
    </fieldset>
  );
}

function passphraseProblem(value: string, confirm: string): string | undefined {
  if (value.length < MIN_PASSPHRASE) return t('enrol.storePassphrase.tooShort', { min: MIN_PASSPHRASE });
  if (value !== confirm) return t('enrol.storePassphrase.mismatch');
  return undefined;
}

export function Enrol(props: { config: WebConfig; onEnrolled: (session: Session) => void; onRequested: () => void }) {
  const [files, setFiles] = useState<EnrolmentFiles>({});
  const [problems, setProblems] = useState<FileProblem[]>([]);
  const [accountPassphrase, setAccountPassphrase] = useState('');
  const [deviceName, setDeviceName] = useState(defaultDeviceName);
  const [passphrase, setPassphrase] = useState({ value: '', confirm: '' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [request, setRequest] = useState<{ text: string; fileName: string }>();
  const requestUrl = useMemo(
    () => request && URL.createObjectURL(new Blob([request.text], { type: 'text/plain' })),
    [request],
  );

  let designation: ReturnType<typeof checkDesignation> | undefined;
  let designationError: string | undefined;
  if (files.contactPoint && files.authority) {
    try {
      designation = checkDesignation(files, props.config);
    } catch (e) {
      designationError = describeError(e);
    }
  }

  const add = async (picked: File[]) => {
    const { found, problems: more } = await readEnrolmentFiles(picked);
    setFiles((old) => ({ ...old, ...found }));
    setProblems(more);
    setError(undefined);
  };

  const run = async (action: () => Promise<void>) => {
    const problem = passphraseProblem(passphrase.value, passphrase.confirm);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  const enrol = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const session = await enrolWithAccountKey(
        files,
        accountPassphrase,
        { storePassphrase: passphrase.value, deviceName },
        props.config,
      );
      setAccountPassphrase('');
      props.onEnrolled(session);
    });
  };

  const ask = () =>
    void run(async () => {
      const made = await requestCertificate(files, { storePassphrase: passphrase.value, deviceName }, props.config);
      setRequest({ text: made.publicKeyFile, fileName: made.fileName });
    });

  if (request) {
    return (
      <main class="centered card" aria-labelledby="request-title">
        <h1 id="request-title">{t('request.title')}</h1>
        <p>{t('request.explain')}</p>
        <p>
          <a class="button primary" download={request.fileName} href={requestUrl}>
            {t('request.download', { file: request.fileName })}
          </a>
        </p>
        <pre class="command">{`liaison device certify --contact-cert ${designation?.contactPoint.contactPointId ?? 'NAME'}.contact.json --account-key ACCOUNT.key --device-key ${request.fileName} --name "${deviceName}" --out browser.device.json`}</pre>
        <button type="button" onClick={props.onRequested}>
          {t('request.continue')}
        </button>
      </main>
    );
  }

  return (
    <main class="centered card" aria-labelledby="enrol-title">
      <div class="topline">
        <h1 id="enrol-title">{t('enrol.title')}</h1>
        <LanguageSwitcher />
      </div>
      <p>{t('enrol.intro')}</p>
      <details class="networks">
        <summary>{t('enrol.networks')}</summary>
        <p class="hint">{t('enrol.networksHint')}</p>
        <ul>
          {props.config.trustedRoots.map((root) => (
            <li key={root.publicKey}>
              <strong>{root.name}</strong> ({root.networkId}): <span class="mono">{fingerprint(root.publicKey)}</span>
            </li>
          ))}
        </ul>
      </details>
      <FilePicker label={t('enrol.files.label')} hint={t('enrol.files.hint')} accept=".json,.key,.pub" onFiles={add} />
      <ul class="found" aria-live="polite">
        <li class={files.contactPoint ? 'ok' : 'missing'}>
          {files.contactPoint
            ? t('enrol.found.designation', {
                name: files.contactPoint.displayName,
                id: files.contactPoint.contactPointId,
              })
            : t('enrol.missing.designation')}
        </li>
        <li class={files.authority ? 'ok' : 'missing'}>
          {files.authority
            ? t('enrol.found.authority', { name: files.authority.name, country: countryName(files.authority.country) })
            : t('enrol.missing.authority')}
        </li>
        <li class={files.keyFile ? 'ok' : 'missing'}>
          {files.keyFile ? t('enrol.found.key') : t('enrol.missing.key')}
        </li>
        {problems.map((p) => (
          <li class="bad" key={p.file}>
            {t(p.kind === 'root' ? 'enrol.rootIgnored' : 'enrol.notOurs', { file: p.file })}
          </li>
        ))}
      </ul>
      {designation && (
        <p class="verified-line" role="status">
          {t('enrol.designationVerified', {
            name: designation.contactPoint.displayName,
            role: designation.contactPoint.role,
            authority: designation.authority.name,
            network: designation.networkName,
          })}
        </p>
      )}
      {designationError && (
        <p class="error" role="alert">
          {t('enrol.designationRefused', { reason: designationError })}
        </p>
      )}
      {designation && (
        <form onSubmit={enrol}>
          <label>
            {t('enrol.deviceName')}
            <input value={deviceName} required maxLength={100} onInput={(e) => setDeviceName(e.currentTarget.value)} />
          </label>
          {files.keyFile && (
            <label>
              {t('enrol.accountPassphrase')}
              <input
                type="password"
                autocomplete="off"
                required
                value={accountPassphrase}
                onInput={(e) => setAccountPassphrase(e.currentTarget.value)}
              />
            </label>
          )}
          <NewPassphrase
            value={passphrase.value}
            confirm={passphrase.confirm}
            onInput={(value, confirm) => setPassphrase({ value, confirm })}
          />
          <ErrorLine message={error} />
          <div class="actions">
            {files.keyFile && (
              <button type="submit" class="primary" disabled={busy}>
                {busy ? t('enrol.working') : t('enrol.submit')}
              </button>
            )}
            <button type="button" disabled={busy} onClick={ask}>
              {t('enrol.askAdministrator')}
            </button>
          </div>
          <p class="hint">{t('enrol.keyForgotten')}</p>
        </form>
      )}
    </main>
  );
}

export function AwaitingCertificate(props: { record: DeviceRecord; onEnrolled: (session: Session) => void }) {
  const [files, setFiles] = useState<EnrolmentFiles>({});
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!files.device) {
      setError(t('awaiting.noCertificate'));
      return;
    }
    setBusy(true);
    try {
      props.onEnrolled(await completeWithCertificate(props.record, passphrase, files.device));
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="centered card" aria-labelledby="awaiting-title">
      <div class="topline">
        <h1 id="awaiting-title">{t('awaiting.title')}</h1>
        <LanguageSwitcher />
      </div>
      <p>{t('awaiting.explain', { name: props.record.displayName })}</p>
      <form onSubmit={submit}>
        <FilePicker
          label={t('awaiting.file')}
          accept=".json"
          onFiles={async (picked) => {
            const { found } = await readEnrolmentFiles(picked);
            setFiles(found);
            setError(found.device ? undefined : t('awaiting.noCertificate'));
          }}
        />
        {files.device && <p class="ok">{t('awaiting.found', { name: files.device.deviceName })}</p>}
        <PassphraseField value={passphrase} onInput={setPassphrase} />
        <ErrorLine message={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t('enrol.working') : t('awaiting.submit')}
        </button>
      </form>
    </main>
  );
}
