import { describe } from 'vitest';

/**
 * The external services cross-package tests need, found through the environment (`.ci/run`
 * starts them and exports the URLs). Without a URL a test group is skipped with the reason in
 * its name, except in CI (CI=true), where a missing service is an error, never a silent skip.
 */
export interface Service {
  readonly name: string;
  /** The environment variable that gives its URL. */
  readonly variable: string;
  readonly url: string | undefined;
  /** describe() when the service is there; otherwise a skipped group that says why. */
  describe(title: string, body: () => void): void;
}

function serviceFromEnv(name: string, variable: string): Service {
  const url = process.env[variable] || undefined;
  if (!url && process.env.CI === 'true') {
    throw new Error(`${variable} is not set: CI must provide ${name} (bash .ci/run starts it).`);
  }
  const service: Service = { name, variable, url, describe: (title, body) => describeWith([service], title, body) };
  return service;
}

/**
 * describe() when every service is there; otherwise one skipped group that names those missing.
 * One level of skipping only: vitest counts a test skipped twice over (a skipped group in a
 * skipped group) as neither run nor skipped.
 */
export function describeWith(services: Service[], title: string, body: () => void): void {
  const missing = services.filter((s) => !s.url);
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  const and = (words: string[]) => words.join(' and ');
  const verb = missing.length === 1 ? 'is' : 'are';
  const reason = `${and(missing.map((s) => s.variable))} ${verb} not set; bash .ci/run provides ${and(missing.map((s) => s.name))}`;
  describe.skip(`${title} [skipped: ${reason}]`, body);
}

/** A PostgreSQL server where the test role may create databases. */
export const postgresService = serviceFromEnv('PostgreSQL', 'LIAISON_TEST_DATABASE_URL');

/** A Redis server whose keys tests may write under their own prefix. */
export const redisService = serviceFromEnv('Redis', 'LIAISON_TEST_REDIS_URL');

export function requireUrl(service: Service): string {
  if (!service.url) throw new Error(`${service.name} is not available`);
  return service.url;
}

/**
 * Something a test group needs from this machine rather than a service URL (a program, a
 * permission), checked by `missing` (the reason, or undefined when present). Like a service: a
 * skipped group with the reason in its name, except in CI, where a missing requirement fails.
 */
export function machineRequirement(missing: () => string | undefined): Pick<Service, 'describe'> {
  return {
    describe(title, body) {
      const reason = missing();
      if (!reason) return describe(title, body);
      if (process.env.CI === 'true') throw new Error(`${title}: ${reason} (CI must provide it; bash .ci/run does)`);
      describe.skip(`${title} [skipped: ${reason}]`, body);
    },
  };
}
