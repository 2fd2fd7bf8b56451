import { describe, expect, it, vi } from 'vitest';
import { go, href, parseRoute, type Route, route } from './route.js';

// route.ts reads the address and listens for its changes when it is imported. Node has neither, so
// a tiny stand-in takes their place, before the import (vi.hoisted runs ahead of it): the page was
// reloaded on a conversation's address.
const page = vi.hoisted(() => {
  const page = {
    location: { hash: '#/c/be%2Fjust%C3%A9' },
    addEventListener: () => undefined,
    history: {
      pushState(_state: unknown, _title: string, url: string) {
        page.location.hash = url;
      },
    },
  };
  Object.assign(globalThis, page);
  return page;
});

// Identifiers and case references as practitioners write them: slashes in references ("2024/117"),
// marks a hash or query would take for its own, spaces, Cyrillic, and a + that a query string
// would otherwise read as a space.
const awkward = [
  'be/justice',
  'KZ 2024/117?urgent#2',
  'Дело № 45/2024',
  'a+b & c=d',
  '%41 already-encoded-looking',
  'plain',
];

/** Screens whose address says all they hold: public ids only. */
const routes: Route[] = [
  { screen: 'home' },
  { screen: 'directory' },
  { screen: 'settings' },
  { screen: 'compose' },
  { screen: 'room-new' },
  ...awkward.flatMap((value): Route[] => [
    { screen: 'conversation', peer: value },
    { screen: 'safety', peer: value },
    { screen: 'compose', to: value },
    { screen: 'room', roomId: value },
    { screen: 'room-add', roomId: value },
    { screen: 'request', requestId: value },
    { screen: 'request-new', peer: value },
  ]),
];

/** Screens holding what only the page may know: a case reference, a search term. */
const privateRoutes: Route[] = awkward.flatMap((value): Route[] => [
  { screen: 'case', reference: value },
  { screen: 'search', query: value },
  { screen: 'compose', reference: value },
  { screen: 'compose', to: 'be.justice', reference: value },
]);

describe('routes in the address', () => {
  it.each(routes.map((r) => [href(r), r] as const))('%s leads back to the same screen', (address, expected) => {
    expect(parseRoute(address)).toEqual(expected);
  });

  it('never puts a case reference or a search term in the address (browsers keep it in their history)', () => {
    for (const r of privateRoutes) {
      const address = href(r);
      for (const value of awkward) {
        expect(address, address).not.toContain(encodeURIComponent(value));
        expect(address, address).not.toContain(value);
      }
    }
    expect(href({ screen: 'compose', to: 'be.justice', reference: 'Дело 7' })).toBe('#/compose?to=be.justice');
  });

  it('puts nothing raw in the address that would cut it short', () => {
    for (const r of [...routes, ...privateRoutes]) {
      const address = href(r);
      // One '#' (the hash itself), at most one '?' (its query), no space a link would break on.
      expect(address.indexOf('#', 1), address).toBe(-1);
      expect(address.split('?').length, address).toBeLessThanOrEqual(2);
      expect(address, address).not.toMatch(/\s/);
    }
  });

  it('opens on the screen the address names after a reload; Go keeps the private part in memory only', () => {
    expect(route.value).toEqual({ screen: 'conversation', peer: 'be/justé' });
    go({ screen: 'case', reference: 'Дело 7' });
    expect(route.value).toEqual({ screen: 'case', reference: 'Дело 7' });
    expect(page.location.hash).toBe('#/case');
    // Back or a reload on that address: the reference is gone with the page's memory, so it is home.
    expect(parseRoute(page.location.hash)).toEqual({ screen: 'home' });
  });

  it.each([
    '',
    '#',
    '#/',
    '#/nowhere',
    '#/c',
    '#/c/',
    '#/case',
    '#/case/KZ-1',
    '#/search?q=x',
    '#/safety',
    '#/room',
    '#/rooms',
    '#/rooms/x',
    '#/request',
    '#/request/',
  ])('goes home from an incomplete or unknown address %j', (address) => {
    expect(parseRoute(address)).toEqual({ screen: 'home' });
  });

  it('goes home from an address mangled by hand instead of breaking the page', () => {
    expect(parseRoute('#/c/%E0%A4%A')).toEqual({ screen: 'home' });
    expect(parseRoute('#/safety/%zz')).toEqual({ screen: 'home' });
  });
});
