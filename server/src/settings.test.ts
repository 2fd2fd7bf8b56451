import { describe, expect, it } from 'vitest';
import { redactUrl, SettingError } from './setting-error.js';
import { readSettings, SETTINGS } from './settings.js';

describe('reading the settings', () => {
  it('takes the default for a variable unset or empty', () => {
    const { values, deprecations } = readSettings({ LIAISON_PORT: '', LIAISON_LOG_LEVEL: ' ' });
    expect(values.port).toBe(SETTINGS.port.default);
    expect(values.logLevel).toBe('info');
    expect(values.databaseUrl).toBeUndefined();
    expect(deprecations).toEqual([]);
  });

  it('reads an old name, and says which name to use', () => {
    const { values, deprecations } = readSettings({ PORT: '9090', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(values.port).toBe(9090);
    expect(values.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(deprecations.map((d) => [d.variable, d.use])).toEqual([
      ['PORT', 'LIAISON_PORT'],
      ['REDIS_URL', 'LIAISON_REDIS_URL'],
    ]);
  });

  it('prefers the LIAISON_ name, and says the old one is ignored', () => {
    const { values, deprecations } = readSettings({ PORT: 'abc', LIAISON_PORT: '9091' });
    expect(values.port).toBe(9091);
    expect(deprecations[0]?.message).toBe('PORT is ignored: LIAISON_PORT is set');
  });

  it('names the variable it read, the value and what it expects', () => {
    expect(() => readSettings({ LOG_LEVEL: 'verbose' })).toThrow(
      new SettingError('LOG_LEVEL', '"verbose"', 'one of fatal, error, warn, info, debug, silent'),
    );
    expect(() => readSettings({ LIAISON_WEBHOOK_ALLOW_HTTP: 'yes' })).toThrow(
      'LIAISON_WEBHOOK_ALLOW_HTTP: found "yes"; expected 1 (on) or 0 (off)',
    );
  });

  it('reads origins as browsers send them, and refuses one with a path', () => {
    const { values } = readSettings({
      LIAISON_PUBLIC_ORIGIN: 'https://relay.example.org/, HTTP://Localhost:8080',
      LIAISON_CORS_ORIGINS: 'https://app.example.org/',
    });
    expect(values.publicOrigin).toEqual(['https://relay.example.org', 'http://localhost:8080']);
    expect(values.corsOrigins).toEqual(['https://app.example.org']);
    expect(() => readSettings({ LIAISON_PUBLIC_ORIGIN: 'https://relay.example.org/liaison' })).toThrow(
      'LIAISON_PUBLIC_ORIGIN',
    );
  });

  it('never shows a password', () => {
    const bad = (env: Record<string, string>) => {
      try {
        readSettings(env);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad({ LIAISON_DATABASE_URL: 'mysql://relay:hunter2@db/liaison' })).toContain(
      '"mysql://relay:***@db/liaison"',
    );
    expect(bad({ LIAISON_REDIS_URL: 'redis//:hunter2@cache' })).not.toContain('hunter2');
  });
});

describe('redactUrl', () => {
  it('hides the password of a URL, valid or not, and leaves the rest', () => {
    expect(redactUrl('postgres://relay:p%40ss@db:5432/liaison')).toBe('postgres://relay:***@db:5432/liaison');
    expect(redactUrl('postgres://relay:p@ss@db/liaison')).toBe('postgres://relay:***@db/liaison');
    expect(redactUrl('relay:secret@db')).toBe('relay:***@db');
    expect(redactUrl('postgres://relay@db/liaison')).toBe('postgres://relay@db/liaison');
    expect(redactUrl('notaurl')).toBe('notaurl');
  });
});
