// Where the practitioner is, in the address's hash: a reload (or a notification's click) comes back
// to the same screen, and the browser's Back button works.
import { signal } from '@preact/signals';

export type Route =
  | { screen: 'home' }
  | { screen: 'conversation'; peer: string }
  | { screen: 'case'; reference: string }
  | { screen: 'compose'; to?: string; reference?: string }
  | { screen: 'directory' }
  | { screen: 'safety'; peer: string }
  | { screen: 'search'; query: string }
  | { screen: 'settings' };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const [screen, arg] = path.split('/').map(decode);
  const params = new URLSearchParams(query);
  switch (screen) {
    case 'c':
      return arg ? { screen: 'conversation', peer: arg } : { screen: 'home' };
    case 'case':
      return arg ? { screen: 'case', reference: arg } : { screen: 'home' };
    case 'compose': {
      const to = params.get('to');
      const reference = params.get('reference');
      return { screen: 'compose', ...(to && { to }), ...(reference && { reference }) };
    }
    case 'directory':
      return { screen: 'directory' };
    case 'safety':
      return arg ? { screen: 'safety', peer: arg } : { screen: 'home' };
    case 'search':
      return { screen: 'search', query: params.get('q') ?? '' };
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

export function href(route: Route): string {
  const e = encodeURIComponent;
  switch (route.screen) {
    case 'home':
      return '#/';
    case 'conversation':
      return `#/c/${e(route.peer)}`;
    case 'case':
      return `#/case/${e(route.reference)}`;
    case 'compose': {
      const params = new URLSearchParams();
      if (route.to) params.set('to', route.to);
      if (route.reference) params.set('reference', route.reference);
      const query = params.toString();
      return `#/compose${query ? `?${query}` : ''}`;
    }
    case 'directory':
      return '#/directory';
    case 'safety':
      return `#/safety/${e(route.peer)}`;
    case 'search':
      return `#/search?q=${e(route.query)}`;
    case 'settings':
      return '#/settings';
  }
}

export const route = signal<Route>(parseRoute(location.hash));
addEventListener('hashchange', () => {
  route.value = parseRoute(location.hash);
});

export function go(to: Route): void {
  location.hash = href(to);
}
