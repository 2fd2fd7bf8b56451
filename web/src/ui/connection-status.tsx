import { t } from '../i18n/i18n.js';
import type { Session } from '../state/session.js';

/** Always on screen: whether what is sent leaves now, and what waits. */
export function ConnectionStatus(props: { session: Session }) {
  const { state, reason } = props.session.connection.value;
  const waiting = props.session.waiting.value;
  const online = state === 'connected';
  // The relay speaks other socket events than this page: the SDK stopped trying, only a reload helps.
  const label =
    state === 'disconnected' && reason === 'UPGRADE_REQUIRED'
      ? t('error.UPGRADE_REQUIRED')
      : state === 'connected'
        ? t('connection.connected')
        : state === 'connecting'
          ? t('connection.connecting')
          : state === 'replaced'
            ? t('connection.replaced')
            : state === 'closed'
              ? t('connection.closed')
              : t('connection.reconnecting');
  return (
    <p class={`connection ${online ? 'online' : 'offline'}`} role="status" aria-live="polite" data-state={state}>
      <span class="dot" aria-hidden="true" />
      {label}
      {waiting > 0 && <span class="waiting"> · {t('connection.waiting', { count: waiting })}</span>}
    </p>
  );
}
