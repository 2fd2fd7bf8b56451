import type { RecordReport } from './verify-record.js';

const html = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
const iso = (t: number) =>
  new Date(t)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');

/**
 * A verified record for people: who sent what when, who received and acknowledged it, the status
 * of each request, every message's text and attachments' hashes. Self-contained (no script, no
 * outside resource), so that it opens the same anywhere, years later.
 */
export function renderRecordHtml(report: RecordReport): string {
  const subject = report.subject.request
    ? `Request ${report.subject.request} with ${report.subject.conversation}`
    : `Conversation with ${report.subject.conversation}`;
  const findings = report.findings
    .map(
      (f) =>
        `<tr><td>${f.entry}</td><td>${html(iso(f.at))}</td><td>${html(f.what)}</td><td>${html(f.statement)}</td></tr>`,
    )
    .join('\n');
  const requests = report.requests
    .map(
      (
        r,
      ) => `<section><h2>Request ${html(r.requestId)}: ${html(r.kind.replaceAll('-', ' '))}, ${html(r.status.replaceAll('-', ' '))}</h2>
<p>From ${html(r.requesting)} to ${html(r.requested)}. Legal basis: ${html(r.legalBasis)}.${r.deadline !== undefined ? ` Deadline: ${html(iso(r.deadline))}.` : ''}
References: ${html(r.references.requesting ?? '–')} / ${html(r.references.requested ?? '–')}.</p>
<ol>${r.history
        .map(
          (e) =>
            `<li>${html(iso(e.at))}: ${html(e.by)} ${e.change === 'opened' ? 'opened the request' : e.status ? `stated “${html(e.status.replaceAll('-', ' '))}”${e.statusIgnored ? ` (does not count: ${html(e.statusIgnored)})` : ''}` : 'wrote'}${e.grounds ? `; grounds: ${html(e.grounds)}` : ''}; ${e.receipts.filter((x) => x.kind === 'delivered').length} signed delivery receipt(s), ${e.receipts.filter((x) => x.kind === 'acknowledged').length} signed acknowledgement(s)</li>`,
        )
        .join('\n')}</ol></section>`,
    )
    .join('\n');
  const messages = report.messages
    .map(
      (
        m,
      ) => `<article><h3>${html(iso(m.sentAt))} · ${html(m.from.displayName)} (${html(m.from.contactPointId)}) → ${html(m.to)}${m.level > 0 ? ` · escalation level ${m.level}` : ''}</h3>
${m.subject ? `<p><strong>${html(m.subject)}</strong>${m.reference ? ` · ref. ${html(m.reference)}` : ''}</p>` : ''}
<pre>${html(m.text)}</pre>
${m.attachments.length > 0 ? `<ul>${m.attachments.map((a) => `<li>${html(a.name)} (${html(a.type)}, ${a.size} bytes), SHA-256 <code>${html(a.sha256)}</code></li>`).join('')}</ul>` : ''}
<p class="hash">Message ${html(m.messageId)} · content SHA-256 <code>${html(m.contentHash)}</code></p></article>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${html(subject)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
table{border-collapse:collapse;width:100%}td{border-top:1px solid #d0d7de;padding:.35rem;vertical-align:top}
pre{white-space:pre-wrap;background:#f6f8fa;padding:.75rem}code,.hash{font-size:12px;color:#57606a;word-break:break-all}
article{border-top:2px solid #d0d7de;margin-top:1rem}</style></head><body>
<h1>${html(subject)}</h1>
<p>Case record exported by ${html(report.exportedBy.displayName)} (${html(report.exportedBy.contactPointId)}, ${html(report.exportedBy.authorityName)}, ${html(report.exportedBy.country)}) on ${html(iso(report.exportedAt))}; ${report.entries} entries, every signature and certificate verified up to the network roots.</p>
<p><strong>Confidential: this record holds the messages' text and the keys that open their attachments. Handle it as the case file.</strong></p>
<p>A device's delivery receipt shows that the device received the message exactly as sent, not that a person read it; only an acknowledgement says a person confirmed having it. Times are each signer's clock; a relay receipt's time is the relay's.</p>
${requests}
<h2>What the record establishes</h2>
<table><tbody>${findings}</tbody></table>
<h2>Messages</h2>
${messages}
</body></html>
`;
}
