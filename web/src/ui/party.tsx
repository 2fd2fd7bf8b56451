import { countryName, localTimeIn, t } from '../i18n/i18n.js';
import type { PartyName } from '../state/history.js';
import { now } from './clock.js';

/** A counterpart as verified from their certificates: name, role, authority, country, network; their local time. */
export function PartyLine(props: { party: PartyName; showLocalTime?: boolean }) {
  const { party } = props;
  const local = props.showLocalTime && party.timeZone ? localTimeIn(party.timeZone, now.value) : '';
  return (
    <span class="party">
      <strong class="party-name">{party.displayName}</strong>
      {party.role && <span> · {party.role}</span>}
      {party.authorityName && <span> · {party.authorityName}</span>}
      {party.country && <span> · {countryName(party.country)}</span>}
      {party.networkName && <span> · {party.networkName}</span>}
      {local && <span class="local-time"> · {t('party.localTime', { time: local })}</span>}
    </span>
  );
}
