// Comparing safety numbers with a counterpart, by phone or in person: the same 60 digits appear on
// both screens when each side has the other's real key. The QR code carries the same number, for
// the other person's device to scan.
import { useEffect, useState } from 'preact/hooks';
import { renderSVG } from 'uqr';
import { t } from '../i18n/i18n.js';
import type { Session } from '../state/session.js';
import { ErrorLine } from './error-line.js';
import { describeError } from './errors.js';
import { PartyLine } from './party.js';

/**
 * The safety number with `peer`: for the key recorded here (read again when the trust changes), or,
 * after a key change, for the new one, fetched once: a number the person compared must not change
 * under their eyes when the relay answers differently a moment later.
 */
export function useSafetyNumber(session: Session, peer: string, key: 'recorded' | 'new' = 'recorded') {
  const [number, setNumber] = useState<string>();
  const [error, setError] = useState<string>();
  const revision = key === 'recorded' ? session.history.revision.value : 0;
  useEffect(() => {
    const client = session.client;
    (key === 'new' ? client.safetyNumberForNewKey(peer) : client.safetyNumber(peer)).then(setNumber, (e) =>
      setError(describeError(e)),
    );
  }, [peer, key, revision]);
  return { number, error };
}

/** What the QR code holds: both contact points, in the same order on both sides, and the digits. */
function qrPayload(self: string, peer: string, digits: string): string {
  const [a, b] = [self, peer].sort();
  return `liaison-safety-number:1:${a}:${b}:${digits.replace(/\s/g, '')}`;
}

export function SafetyDigits(props: { number: string }) {
  const groups = props.number.split(/\s+/);
  return (
    <figure class="safety-number">
      <figcaption class="visually-hidden">{t('safety.digitsLabel')}</figcaption>
      <p class="safety-digits">
        {groups.map((group, i) => (
          <span key={i} class="group">
            {group}
          </span>
        ))}
      </p>
    </figure>
  );
}

export function SafetyNumber(props: { session: Session; peer: string }) {
  const { session, peer } = props;
  const { number, error } = useSafetyNumber(session, peer);
  const party = session.history.conversation(peer)?.peer ?? session.party(peer);
  session.history.revision.value; // re-rendered when the trust changes
  const [done, setDone] = useState<string>();
  return (
    <section aria-labelledby="safety-title" class="safety">
      <h2 id="safety-title">{t('safety.title', { name: party?.displayName ?? peer })}</h2>
      {party && <PartyLine party={party} showLocalTime />}
      <p>{t('safety.explain', { name: party?.displayName ?? peer })}</p>
      <ErrorLine message={error} />
      {number && (
        <div class="safety-box">
          <SafetyDigits number={number} />
          <figure
            class="qr"
            aria-label={t('safety.qrLabel')}
            // The SVG is made here from our own digits by the QR library; it holds no script or style.
            dangerouslySetInnerHTML={{
              __html: renderSVG(qrPayload(session.client.contactPointId, peer, number), { border: 2 }),
            }}
          />
        </div>
      )}
      {session.history.trust(peer).verified ? (
        <p class="badge verified" role="status">
          {t('safety.isVerified')}
        </p>
      ) : (
        number && (
          <button
            type="button"
            class="primary"
            onClick={async () => {
              try {
                await session.markVerified(peer);
                setDone(t('safety.markedVerified'));
              } catch (e) {
                setDone(describeError(e));
              }
            }}
          >
            {t('safety.markVerified')}
          </button>
        )
      )}
      {done && <p role="status">{done}</p>}
      <p class="hint">{t('safety.ifDifferent')}</p>
    </section>
  );
}
