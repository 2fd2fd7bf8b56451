import type { UrgentState } from '@liaison/client';
import { formatDuration, formatTime, t } from '../i18n/i18n.js';
import type { Session } from '../state/session.js';
import { now } from './clock.js';

/** An urgent request's escalation as the sender sees it: each level, whom it reached, its deadline, who acknowledged. */
export function UrgentTimeline(props: { session: Session; state: UrgentState }) {
  const { state, session } = props;
  const relayNow = now.value && session.client.relayNow();
  const nameOf = (id: string) => session.party(id)?.displayName ?? id;
  return (
    <section class={`timeline ${state.status}`} aria-label={t('urgent.timeline')}>
      <p class={`urgent-status ${state.status}`}>
        {state.status === 'acknowledged' && state.acknowledged
          ? t('urgent.status.acknowledged', {
              name: nameOf(state.acknowledged.contactPointId),
              time: formatTime(state.acknowledged.at),
            })
          : state.status === 'unacknowledged'
            ? t('urgent.status.unacknowledged')
            : t('urgent.status.escalating', { level: state.level })}
      </p>
      <ol>
        {state.levels.map((level) => {
          const reached = level.releasedAt !== undefined;
          const acknowledgedHere = state.acknowledged?.contactPointId === level.contactPointId;
          const running = reached && state.status === 'escalating' && level.level === state.level;
          return (
            <li key={level.level} class={`${reached ? 'reached' : 'held'} ${acknowledgedHere ? 'acknowledged' : ''}`}>
              <span class="level">
                {level.level === 0 ? t('urgent.level.recipient') : t('urgent.level.n', { n: level.level })}
              </span>{' '}
              <strong>{nameOf(level.contactPointId)}</strong>{' '}
              {level.devices === 0
                ? t('urgent.level.noDevice')
                : level.releasedAt !== undefined
                  ? t('urgent.level.reached', { time: formatTime(level.releasedAt) })
                  : t('urgent.level.held')}
              {level.deadline !== undefined && (
                <>
                  {' · '}
                  {running
                    ? t('urgent.level.timeLeft', { left: formatDuration(level.deadline - relayNow) })
                    : t('urgent.level.deadline', { time: formatTime(level.deadline) })}
                </>
              )}
              {acknowledgedHere && state.acknowledged && (
                <> · {t('urgent.level.acknowledged', { time: formatTime(state.acknowledged.at) })}</>
              )}
            </li>
          );
        })}
      </ol>
    </section>
  );
}
