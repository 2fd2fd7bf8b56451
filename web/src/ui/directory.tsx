// Finding a counterpart: the relay's directory, searched by country, authority, competence,
// language and availability. Each entry is shown only once the SDK verified its chain to a network
// root; the ones that failed are listed with the reason, never shown as contact points. The same
// search picks a room's members (`DirectorySearch` with other actions per entry).
import { COMPETENCES, type DirectoryQuery, type VerifiedEntry } from '@liaison/client';
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useState } from 'preact/hooks';
import { countryName, languageName, localTimeIn, t } from '../i18n/i18n.js';
import { href } from '../state/route.js';
import { partyOfEntry, type Session } from '../state/session.js';
import { now } from './clock.js';
import { ErrorLine } from './error-line.js';
import { describeCode, describeError } from './errors.js';

type AvailabilityFilter = 'any' | 'available' | 'around-the-clock' | 'away';

interface Results {
  entries: VerifiedEntry[];
  rejected: { contactPointId: string; code: string }[];
  nextCursor?: string;
}

function aroundTheClock(entry: VerifiedEntry): boolean {
  const cp = entry.contactPoint.contactPoint;
  return cp.kind === 'duty-desk' || cp.competences.includes('cybercrime-24-7');
}

/** What can be done with an entry: on the directory screen, write to them or compare safety numbers. */
export type EntryActions = (entry: VerifiedEntry) => ComponentChildren;

function Entry(props: { entry: VerifiedEntry; actions: EntryActions }) {
  const { entry } = props;
  const cp = entry.contactPoint.contactPoint;
  const away = entry.availability.status === 'away';
  return (
    <li class="entry">
      <h3>
        {cp.displayName}
        {cp.kind === 'duty-desk' && <span class="badge">{t('directory.dutyDesk')}</span>}
      </h3>
      <p>
        {cp.role} · {entry.contactPoint.authority.name} · {countryName(entry.contactPoint.authority.country)} ·{' '}
        {entry.contactPoint.networkName}
      </p>
      <p class="meta">
        {t('directory.languages')}: {cp.languages.map(languageName).join(', ')} · {t('directory.competences')}:{' '}
        {cp.competences.map((c) => t(`competence.${c}`)).join(', ')}
      </p>
      <p class="meta">
        {t('party.localTime', { time: localTimeIn(cp.timeZone, now.value) })} ({cp.timeZone}) ·{' '}
        {aroundTheClock(entry) && <span class="badge">{t('directory.aroundTheClock')}</span>}{' '}
        {away ? (
          <span class="badge warning">
            {entry.availability.delegate
              ? t('directory.awayDelegate', { delegate: entry.availability.delegate })
              : t('directory.away')}
          </span>
        ) : (
          <span class="badge ok">{t('directory.available')}</span>
        )}
      </p>
      <p class="badge verified-chain">{t('directory.chainVerified')}</p>
      <p class="actions">{props.actions(entry)}</p>
    </li>
  );
}

function writeOrCompare(session: Session): EntryActions {
  return (entry) => {
    const cp = entry.contactPoint.contactPoint;
    const party = partyOfEntry(entry);
    return (
      <>
        <a
          class="button primary"
          href={href({ screen: 'compose', to: cp.contactPointId })}
          onClick={() => session.rememberParty(party)}
        >
          {t('directory.write', { name: cp.displayName })}
        </a>
        <a
          class="button"
          href={href({ screen: 'safety', peer: cp.contactPointId })}
          onClick={() => session.rememberParty(party)}
        >
          {t('directory.safety')}
        </a>
      </>
    );
  };
}

export function Directory(props: { session: Session }) {
  return (
    <section aria-labelledby="directory-title">
      <h2 id="directory-title">{t('directory.title')}</h2>
      <DirectorySearch session={props.session} actions={writeOrCompare(props.session)} />
    </section>
  );
}

/** The directory's search form and its verified results, each with `actions`; entries `hide` leaves out are not listed. */
export function DirectorySearch(props: {
  session: Session;
  actions: EntryActions;
  hide?: (contactPointId: string) => boolean;
}) {
  const id = useId();
  const [query, setQuery] = useState({ q: '', country: '', authority: '', competence: '', language: '' });
  const [availability, setAvailability] = useState<AvailabilityFilter>('any');
  const [results, setResults] = useState<Results>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const search = async (cursor?: string) => {
    setBusy(true);
    setError(undefined);
    const wanted: DirectoryQuery = {};
    if (query.q.trim()) wanted.q = query.q.trim();
    if (query.country.trim()) wanted.country = query.country.trim().toUpperCase();
    if (query.authority.trim()) wanted.authority = query.authority.trim();
    if (query.competence) wanted.competence = query.competence as DirectoryQuery['competence'];
    if (query.language.trim()) wanted.language = query.language.trim().toLowerCase();
    if (cursor) wanted.cursor = cursor;
    try {
      const page = await props.session.client.directory.search(wanted);
      for (const entry of page.entries) props.session.rememberParty(partyOfEntry(entry));
      setResults((old) => ({
        entries: [...(cursor ? (old?.entries ?? []) : []), ...page.entries],
        rejected: [...(cursor ? (old?.rejected ?? []) : []), ...page.rejected],
        ...(page.nextCursor && { nextCursor: page.nextCursor }),
      }));
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    void search();
  }, []);

  const shown = (results?.entries ?? []).filter((entry) =>
    props.hide?.(entry.contactPoint.contactPoint.contactPointId)
      ? false
      : availability === 'any'
        ? true
        : availability === 'available'
          ? entry.availability.status === 'available'
          : availability === 'away'
            ? entry.availability.status === 'away'
            : aroundTheClock(entry),
  );
  const field = (name: keyof typeof query) => ({
    value: query[name],
    onInput: (e: { currentTarget: { value: string } }) => setQuery({ ...query, [name]: e.currentTarget.value }),
  });

  return (
    <>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void search();
        }}
      >
        <label>
          {t('directory.q')}
          <input {...field('q')} />
        </label>
        <label>
          {t('directory.country')}
          <input {...field('country')} maxLength={2} size={3} />
        </label>
        <label>
          {t('directory.authority')}
          <input {...field('authority')} />
        </label>
        <label>
          {t('directory.competence')}
          <select value={query.competence} onChange={(e) => setQuery({ ...query, competence: e.currentTarget.value })}>
            <option value="">{t('directory.anyCompetence')}</option>
            {COMPETENCES.map((c) => (
              <option key={c} value={c}>
                {t(`competence.${c}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('directory.language')}
          <input {...field('language')} maxLength={3} size={4} />
        </label>
        <label>
          {t('directory.availability')}
          <select value={availability} onChange={(e) => setAvailability(e.currentTarget.value as AvailabilityFilter)}>
            <option value="any">{t('directory.availability.any')}</option>
            <option value="available">{t('directory.availability.available')}</option>
            <option value="around-the-clock">{t('directory.availability.aroundTheClock')}</option>
            <option value="away">{t('directory.availability.away')}</option>
          </select>
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {t('directory.search')}
        </button>
      </form>
      <ErrorLine message={error} />
      {results && <p role="status">{t('directory.count', { count: shown.length })}</p>}
      <ul class="entries">
        {shown.map((entry) => (
          <Entry key={entry.contactPoint.contactPoint.contactPointId} entry={entry} actions={props.actions} />
        ))}
      </ul>
      {results?.nextCursor && (
        <button type="button" onClick={() => void search(results.nextCursor)} disabled={busy}>
          {t('directory.more')}
        </button>
      )}
      {results && results.rejected.length > 0 && (
        <section class="rejected" aria-labelledby={`${id}-rejected`}>
          <h3 id={`${id}-rejected`}>{t('directory.rejected', { count: results.rejected.length })}</h3>
          <ul>
            {results.rejected.map((r) => (
              <li key={r.contactPointId}>
                <strong>{r.contactPointId}</strong>: {describeCode(r.code)}
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}
