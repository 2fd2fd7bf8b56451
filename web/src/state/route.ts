// Where the practitioner is. The address's hash names the screen and ids only (a contact point's
// id is in the directory; a room's or a request's id is random and says nothing of the case): a notification's
// click and the Back button land there. A case reference, a room's title or a search term stays in
// memory, never in the address, which the browser keeps in its history, in clear and outside the
// key store.
import { signal } from '@preact/signals';

export type Route =
  | { screen: 'home' }
  | { screen: 'conversation'; peer: string }
  | { screen: 'request'; requestId: string }
  | { screen: 'request-new'; peer: string }
  | { screen: 'case'; reference: string }
  | { screen: 'compose'; to?: string; reference?: string }
  | { screen: 'directory' }
  | { screen: 'room'; roomId: string }
  | { screen: 'room-new' }
  | { screen: 'room-add'; roomId: string }
  | { screen: 'safety'; peer: string }
  | { screen: 'search'; query: string }
  | { screen: 'settings' };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const [screen, arg, sub] = path.split('/').map(decode);
  const params = new URLSearchParams(query);
  switch (screen) {
    case 'c':
      if (!arg) return { screen: 'home' };
      return sub === 'request' ? { screen: 'request-new', peer: arg } : { screen: 'conversation', peer: arg };
    case 'request':
      return arg ? { screen: 'request', requestId: arg } : { screen: 'home' };
    case 'compose': {
      const to = params.get('to');
      return { screen: 'compose', ...(to && { to }) };
    }
    case 'directory':
      return { screen: 'directory' };
    case 'room':
      if (!arg) return { screen: 'home' };
      return sub === 'add' ? { screen: 'room-add', roomId: arg } : { screen: 'room', roomId: arg };
    case 'rooms':
      return arg === 'new' ? { screen: 'room-new' } : { screen: 'home' };
    case 'safety':
      return arg ? { screen: 'safety', peer: arg } : { screen: 'home' };
    case 'settings':
      return { screen: 'settings' };
    default:
      return { screen: 'home' };
  }
}

// An address edited by hand may hold a '%' that starts no escape: that part names nothing (the
// screen falls back to home) rather than throwing while the app starts.
function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return '';
  }
}

/** The address of a screen, without what only the page may hold (a case reference, a search term). */
export function href(route: Route): string {
  const e = encodeURIComponent;
  switch (route.screen) {
    case 'home':
      return '#/';
    case 'conversation':
      return `#/c/${e(route.peer)}`;
    case 'request':
      return `#/request/${e(route.requestId)}`;
    case 'request-new':
      return `#/c/${e(route.peer)}/request`;
    case 'case':
      return '#/case';
    case 'compose':
      return route.to ? `#/compose?${new URLSearchParams({ to: route.to })}` : '#/compose';
    case 'directory':
      return '#/directory';
    case 'room':
      return `#/room/${e(route.roomId)}`;
    case 'room-new':
      return '#/rooms/new';
    case 'room-add':
      return `#/room/${e(route.roomId)}/add`;
    case 'safety':
      return `#/safety/${e(route.peer)}`;
    case 'search':
      return '#/search';
    case 'settings':
      return '#/settings';
  }
}

export const route = signal<Route>(parseRoute(location.hash));
addEventListener('hashchange', () => {
  route.value = parseRoute(location.hash);
});

/** Goes to a screen: the route, whole, in memory; its public part in the address (a new history entry). */
export function go(to: Route): void {
  route.value = to;
  history.pushState(null, '', href(to));
}

/** A link's attributes for a screen: its address, and a click that keeps the route's private part. */
export function linkTo(to: Route): { href: string; onClick: (event: MouseEvent) => void } {
  return {
    href: href(to),
    onClick: (event) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      go(to);
    },
  };
}
