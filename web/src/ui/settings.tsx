import { useState } from 'preact/hooks';
import { t } from '../i18n/i18n.js';
import { lockAfterMinutes, setLockAfterMinutes } from '../state/idle-lock.js';
import { askForNotifications, notificationsAllowed, notificationsAvailable } from '../state/notifications.js';
import type { Session } from '../state/session.js';
import { describeError } from './errors.js';
import { LanguageSwitcher } from './language-switcher.js';

export function Settings(props: { session: Session }) {
  const { session } = props;
  const [minutes, setMinutes] = useState(String(lockAfterMinutes()));
  const [allowed, setAllowed] = useState(notificationsAllowed());
  const [status, setStatus] = useState<string>();
  const [away, setAway] = useState({ status: 'available', delegate: '' });
  const device = session.client.self.device;
  return (
    <section aria-labelledby="settings-title" class="settings">
      <h2 id="settings-title">{t('settings.title')}</h2>
      <LanguageSwitcher />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const value = Number(minutes);
          if (value >= 1 && value <= 1440) {
            setLockAfterMinutes(value);
            setStatus(t('settings.saved'));
          } else setStatus(t('settings.lockRange'));
        }}
      >
        <label>
          {t('settings.lockAfter')}
          <input type="number" min="1" max="1440" value={minutes} onInput={(e) => setMinutes(e.currentTarget.value)} />
        </label>
        <button type="submit">{t('settings.save')}</button>
      </form>
      <h3>{t('settings.notifications')}</h3>
      {!notificationsAvailable() ? (
        <p>{t('settings.notificationsUnavailable')}</p>
      ) : allowed ? (
        <p>{t('settings.notificationsOn')}</p>
      ) : (
        <button type="button" onClick={async () => setAllowed(await askForNotifications())}>
          {t('settings.notificationsAsk')}
        </button>
      )}
      <p class="hint">{t('unlock.whileLocked')}</p>
      <h3>{t('settings.availability')}</h3>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            await session.client.directory.setAvailability(
              away.status === 'away'
                ? { status: 'away', ...(away.delegate.trim() && { delegate: away.delegate.trim() }) }
                : { status: 'available' },
            );
            setStatus(t('settings.saved'));
          } catch (error) {
            setStatus(describeError(error));
          }
        }}
      >
        <label>
          {t('settings.availabilityStatus')}
          <select value={away.status} onChange={(e) => setAway({ ...away, status: e.currentTarget.value })}>
            <option value="available">{t('directory.available')}</option>
            <option value="away">{t('directory.away')}</option>
          </select>
        </label>
        {away.status === 'away' && (
          <label>
            {t('settings.delegate')}
            <input value={away.delegate} onInput={(e) => setAway({ ...away, delegate: e.currentTarget.value })} />
          </label>
        )}
        <button type="submit">{t('settings.save')}</button>
      </form>
      {status && <p role="status">{status}</p>}
      <h3>{t('settings.device')}</h3>
      <dl class="facts">
        <dt>{t('settings.deviceName')}</dt>
        <dd>{device.deviceName}</dd>
        <dt>{t('settings.contactPoint')}</dt>
        <dd>{session.client.contactPointId}</dd>
        <dt>{t('settings.deviceKey')}</dt>
        <dd class="mono">{device.deviceId}</dd>
      </dl>
    </section>
  );
}
