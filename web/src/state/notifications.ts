// Desktop notifications for urgent requests, once the person allowed them. A notification shows
// on the lock screen and in the system's notification centre, outside the key store's protection:
// it names the sender and the time left, never the subject or the text.
import type { ReceivedMessage } from '@liaison/client';
import { formatDuration, t } from '../i18n/i18n.js';
import type { PartyName } from './history.js';

export function notificationsAvailable(): boolean {
  return typeof Notification !== 'undefined';
}

export function notificationsAllowed(): boolean {
  return notificationsAvailable() && Notification.permission === 'granted';
}

export async function askForNotifications(): Promise<boolean> {
  if (!notificationsAvailable()) return false;
  return (await Notification.requestPermission()) === 'granted';
}

export function notifyUrgent(sender: PartyName, message: ReceivedMessage, relayNow: number): void {
  if (!notificationsAllowed()) return;
  const left = message.relay.deadline ? formatDuration(message.relay.deadline - relayNow) : '';
  const notification = new Notification(t('notify.urgent.title'), {
    body: t('notify.urgent.body', { name: sender.displayName, country: sender.country, left }),
    tag: message.messageId,
    requireInteraction: true,
  });
  notification.onclick = () => {
    window.focus();
    location.hash = `#/c/${encodeURIComponent(sender.contactPointId)}`;
  };
}
