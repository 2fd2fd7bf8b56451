// Exporting a case record (client.exportRecord, docs/evidence.md): the signed JSON bundle that
// `liaison record verify` checks offline, and its HTML rendering for people, offered as two files to
// save. The SDK checks the bundle as a verifier would before giving it; one that does not verify
// here is not offered.
import { isLiaisonError } from '@liaison/client';
import { exportRecord } from '@liaison/client/records';
import { useEffect, useId, useState } from 'preact/hooks';
import { t } from '../i18n/i18n.js';
import type { Session } from '../state/session.js';
import { ErrorLine } from './error-line.js';
import { describeError } from './errors.js';

interface Exported {
  count: number;
  json: { url: string; name: string };
  html: { url: string; name: string };
}

/** A file name's part from a reference or an id: letters, digits, dots, dashes. */
function fileNamePart(text: string): string {
  const ascii = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '')
    .slice(0, 60);
  return ascii || 'record';
}

/** Today in this device's time zone, as a file name says it (2026-03-12). */
function today(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export function RecordExport(props: {
  session: Session;
  subject: { conversation: string } | { request: string };
  /** Names the files: the request's reference, or the counterpart's id. */
  name: string;
  /** In a conversation's head: the button alone until the record is ready. */
  compact?: boolean;
}) {
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [exported, setExported] = useState<Exported>();
  // The files stay in memory until the screen goes, or another export replaces them.
  useEffect(
    () => () => {
      if (exported) for (const file of [exported.json, exported.html]) URL.revokeObjectURL(file.url);
    },
    [exported],
  );

  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const { record, html } = await exportRecord(props.session.client, props.subject);
      const base = `case-record-${fileNamePart(props.name)}-${today()}`;
      const url = (text: string, type: string) => URL.createObjectURL(new Blob([text], { type }));
      setExported({
        count: record.entries.length,
        json: { url: url(JSON.stringify(record, null, 2), 'application/json'), name: `${base}.json` },
        html: { url: url(html, 'text/html'), name: `${base}.html` },
      });
    } catch (e) {
      setError(isLiaisonError(e, 'INVALID_MESSAGE') ? t('record.notVerified') : describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class={`record-export ${props.compact ? 'compact' : ''}`} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`} class={props.compact ? 'visually-hidden' : ''}>
        {t('record.title')}
      </h3>
      {(!props.compact || exported) && <p class="hint">{t('record.explain')}</p>}
      <p class="actions">
        <button type="button" onClick={run} disabled={busy}>
          {busy ? t('record.exporting') : t('record.export')}
        </button>
      </p>
      {exported && (
        <>
          <p class="ok" role="status">
            {t('record.ready', { count: exported.count })}
          </p>
          <p class="actions">
            <a class="button primary" href={exported.json.url} download={exported.json.name}>
              {t('record.saveJson')}
            </a>
            <a class="button" href={exported.html.url} download={exported.html.name}>
              {t('record.saveHtml')}
            </a>
          </p>
        </>
      )}
      <ErrorLine message={error} />
    </section>
  );
}
