import {
  AuthorityCertificate,
  ContactPointCertificate,
  ENDPOINTS,
  type ErrorBody,
  ErrorBody as ErrorBodySchema,
  Revocation,
  type RevocationSubject,
  type RevocationSubmission,
} from '@liaison/protocol';
import { CliError } from './cli-error.js';
import { type CommandContext, list, optional, required } from './command-context.js';
import { readStatement } from './io.js';

/** How long a relay has to answer; a revocation is small, so only a relay in trouble takes longer. */
const TIMEOUT_MS = 30_000;

type Answer =
  | { kind: 'applied' }
  | { kind: 'refused'; error: ErrorBody }
  | { kind: 'unreachable'; reason: string }
  | { kind: 'unexpected'; status: number };

/**
 * liaison revocation publish --relay URL[,URL] --revocation FILE [--authority-cert FILE]
 * [--contact-cert FILE]: hands a signed revocation to each relay, with the issuer's certificates
 * when given (a relay needs them for a subject none of whose devices registered there yet), and
 * says, in words, what each answered. Exit code 1 unless every relay recorded it.
 */
export async function revocationPublish(ctx: CommandContext): Promise<boolean> {
  const relays = list(required(ctx.options, 'relay')).map(relayAddress);
  const revocation = await readStatement(required(ctx.options, 'revocation'), Revocation, 'a revocation');
  const authorityPath = optional(ctx.options, 'authority-cert');
  const contactPath = optional(ctx.options, 'contact-cert');
  if (contactPath && !authorityPath) throw new CliError('--contact-cert goes with --authority-cert');
  const submission: RevocationSubmission = authorityPath
    ? {
        revocation,
        issuer: {
          authority: await readStatement(authorityPath, AuthorityCertificate, "an authority's certificate"),
          ...(contactPath && {
            contactPoint: await readStatement(contactPath, ContactPointCertificate, 'a designation'),
          }),
        },
      }
    : revocation;
  let everywhere = true;
  for (const relay of relays) {
    const answer = await post(relay, submission);
    for (const line of describe(relay, revocation, answer)) ctx.print(line);
    everywhere &&= answer.kind === 'applied';
  }
  return everywhere;
}

function relayAddress(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`--relay takes a relay's address, like https://relay.example.org, not "${value}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new CliError(`--relay takes an https:// (or http://) address, not "${value}"`);
  }
  // It is printed with every answer; a password in it would end up on screen and in logs.
  if (url.username || url.password) throw new CliError('--relay takes no user name or password');
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/** The relay's answer. Its error body is checked against the schema, so nothing else reaches the terminal. */
async function post(relay: string, submission: RevocationSubmission): Promise<Answer> {
  let response: Response;
  let body: unknown;
  try {
    response = await fetch(`${relay}${ENDPOINTS.revoke.path}`, {
      method: ENDPOINTS.revoke.method.toUpperCase(),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(submission),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    body = await response.json().catch(() => undefined);
  } catch (error) {
    return { kind: 'unreachable', reason: unreachableReason(error) };
  }
  if (response.ok && ENDPOINTS.revoke.output.safeParse(body).success) return { kind: 'applied' };
  const error = ErrorBodySchema.safeParse(body);
  if (!response.ok && error.success) return { kind: 'refused', error: error.data };
  return { kind: 'unexpected', status: response.status };
}

/** Why fetch failed, in a few words; fetch itself only says "fetch failed". */
function unreachableReason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${TIMEOUT_MS / 1000} s`;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause?.code === 'ECONNREFUSED') return 'nothing answers at that address';
  if (cause?.code === 'ENOTFOUND') return 'no such host';
  if (typeof cause?.code === 'string') return cause.code;
  return typeof cause?.message === 'string' ? cause.message : 'the connection failed';
}

const SUBJECT: Record<RevocationSubject, string> = {
  authority: 'authority',
  'contact-point': 'contact point',
  device: 'device',
};

/** What the relay does with each kind of revocation it records (server: applyRevocation, device registration). */
const CUT_OFF: Record<RevocationSubject, string> = {
  authority: 'the devices of its contact points are cut off there and cannot register again',
  'contact-point': 'its devices are cut off there and cannot register again',
  device: 'that device is cut off there and cannot register again',
};

/** What to do about a refusal, for the codes POST /v1/revocations answers with. */
function advice(error: ErrorBody, revocation: Revocation): string | undefined {
  switch (error.error) {
    case 'NOT_FOUND':
      // A NOT_FOUND that does not name the subject is about the address: no such endpoint.
      if (!error.message.includes(revocation.subjectId)) return "Check the address: it is the relay's base URL.";
      return revocation.subject === 'authority'
        ? 'A relay takes the revocation of an authority only from the root of a network it trusts.'
        : revocation.subject === 'contact-point'
          ? "This relay has not seen that contact point yet: publish again with --authority-cert (the authority's certificate), so it can check the issuer."
          : 'This relay has not seen that device yet: publish again with --authority-cert and --contact-cert (the designation that certified it).';
    case 'FORBIDDEN':
      return 'Only the issuer right above the subject may revoke it: the root, the authority, or the account key.';
    case 'BAD_SIGNATURE':
      return 'The file was changed after it was signed; make it again with liaison revoke.';
    case 'RATE_LIMITED':
    case 'UNAVAILABLE':
      return 'Try again in a minute; publishing the same revocation twice is harmless.';
    default:
      return undefined;
  }
}

function describe(relay: string, revocation: Revocation, answer: Answer): string[] {
  const subject = revocation.subject;
  const what = `${SUBJECT[subject]} ${revocation.subjectId} in ${revocation.networkId}`;
  switch (answer.kind) {
    case 'applied':
      return [`PUBLISHED to ${relay}: the relay recorded the revocation of ${what};`, `  ${CUT_OFF[subject]}.`];
    case 'refused': {
      const { error, message, requestId } = answer.error;
      const hint = advice(answer.error, revocation);
      return [
        `NOT PUBLISHED to ${relay} (${error}): ${message.replace(/\.$/, '')}.`,
        `  The relay did not record the revocation of ${what}.`,
        ...(hint ? [`  ${hint}`] : []),
        ...(requestId ? [`  Request id ${requestId}: quote it to the relay's operator.`] : []),
      ];
    }
    case 'unreachable':
      return [
        `NOT PUBLISHED to ${relay}: the relay cannot be reached (${answer.reason}).`,
        '  Check the address and try again; publishing the same revocation twice is harmless.',
      ];
    case 'unexpected':
      return [
        `NOT PUBLISHED to ${relay}: it answered HTTP ${answer.status}, which is not a Liaison relay's answer.`,
        '  The revocation may not be recorded: check the address and try again; publishing it twice is harmless.',
      ];
  }
}
