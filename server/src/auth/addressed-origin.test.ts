import { describe, expect, it } from 'vitest';
import { publicOrigin, requestOrigin } from './addressed-origin.js';

describe('publicOrigin', () => {
  const listed = ['https://relay.example.org', 'http://localhost:8080'];
  it('names the origin the client addressed when it is listed', () => {
    expect(publicOrigin(listed, 'http://localhost:8080')).toBe('http://localhost:8080');
  });
  it('names the first listed one for any other address (an internal Host behind a load balancer, a forged one)', () => {
    expect(publicOrigin(listed, 'http://10.0.0.7:8080')).toBe('https://relay.example.org');
    expect(publicOrigin(listed, 'https://attacker.example')).toBe('https://relay.example.org');
    expect(publicOrigin(listed, undefined)).toBe('https://relay.example.org');
  });
  it('names none when none is set (the relay then uses the address it listens on)', () => {
    expect(publicOrigin([], 'http://localhost:8080')).toBe(undefined);
  });
  it('reads the addressed origin from the scheme and Host header, default ports dropped', () => {
    expect(requestOrigin('http', 'localhost:8080')).toBe('http://localhost:8080');
    expect(requestOrigin('https', 'relay.example.org:443')).toBe('https://relay.example.org');
    expect(requestOrigin('http', undefined)).toBe(undefined);
    expect(requestOrigin('http', 'bad host/')).toBe(undefined);
  });
});
