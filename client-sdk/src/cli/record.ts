import { readFile, stat, writeFile } from 'node:fs/promises';
import { RECORD_LIMITS, Revocation, TrustedRoot } from '@liaison/protocol';
import { renderRecordHtml } from '../evidence/render-record.js';
import { verifyRecord } from '../evidence/verify-record.js';
import { CliError } from './cli-error.js';
import { type CommandContext, list, optional, required } from './command-context.js';
import { readStatement } from './io.js';
import { refuseToOverwrite } from './key-file.js';

/** A signer's words on one line: a line break in them cannot pass for a line of the verifier's. */
const oneLine = (words: string) => words.replace(/[\r\n\t\u2028\u2029]+/g, ' ⏎ ');

const iso = (t: number) =>
  new Date(t)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');

/**
 * `liaison record verify FILE --roots …`: checks a case record offline, against the roots given
 * (and revocations the verifier knows of), and says in plain words what it establishes, or where it
 * fails. `--html OUT` writes the same, for people, once it verifies.
 */
export async function recordVerify(ctx: CommandContext): Promise<boolean> {
  const path = ctx.argument as string;
  const trustedRoots = await Promise.all(
    list(required(ctx.options, 'roots')).map((p) => readStatement(p, TrustedRoot, 'a trusted root (.root.json)')),
  );
  const revocations = await Promise.all(
    list(optional(ctx.options, 'revocations')).map((p) => readStatement(p, Revocation, 'a revocation')),
  );
  const htmlPath = optional(ctx.options, 'html');
  if (htmlPath) await refuseToOverwrite(htmlPath);
  const size = await stat(path).then(
    (s) => s.size,
    () => {
      throw new CliError(`cannot read the case record ${path}`);
    },
  );
  if (size > RECORD_LIMITS.maxFileBytes)
    throw new CliError(`${path} is larger than a case record may be (${RECORD_LIMITS.maxFileBytes} bytes)`);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw new CliError(`cannot read the case record ${path}: not a readable JSON file`);
  }
  const verified = verifyRecord(json, { trustedRoots, revocations });
  if (!verified.ok) {
    ctx.print(`NOT VERIFIED: ${verified.reason}.`);
    return false;
  }
  const { report } = verified;
  const subject = report.subject.request
    ? `request ${report.subject.request} with "${report.subject.conversation}"`
    : `the conversation with "${report.subject.conversation}"`;
  ctx.print(
    `VERIFIED: the case record of ${subject}, exported by ${report.exportedBy.displayName} ("${report.exportedBy.contactPointId}", ${report.exportedBy.authorityName}) on ${iso(report.exportedAt)}: ${report.entries} entries, every signature and certificate checked up to ${trustedRoots.map((r) => `"${r.name}"`).join(', ')}.`,
  );
  ctx.print('It establishes, in order:');
  for (const finding of report.findings) ctx.print(`  ${finding.entry}. ${finding.statement}`);
  for (const request of report.requests) {
    ctx.print(
      `Request ${request.requestId} (${request.kind.replaceAll('-', ' ')}) from "${request.requesting}" to "${request.requested}", legal basis: ${request.legalBasis}. Status: ${request.status.replaceAll('-', ' ')}.`,
    );
    for (const event of request.history.filter((e) => e.status))
      ctx.print(
        `  ${iso(event.at)}: "${event.by}" stated ${event.status?.replaceAll('-', ' ')}${event.statusIgnored ? ` (does not count: ${event.statusIgnored})` : ''}${event.grounds ? `; grounds: “${oneLine(event.grounds)}”` : ''}`,
      );
  }
  ctx.print(
    'A delivery receipt shows that a device received the message as sent, not that a person read it; an acknowledgement says a person confirmed having it. Times are each signer’s clock; "stored" times are the relay’s.',
  );
  ctx.print(
    'Confidential: the record holds the messages’ text and the keys that open their attachments; handle it as the case file.',
  );
  if (htmlPath) {
    await writeFile(htmlPath, renderRecordHtml(report), { flag: 'wx', mode: 0o644 });
    ctx.print(`The same, for people: ${htmlPath}`);
  }
  return true;
}
