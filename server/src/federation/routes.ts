import {
  BlobId,
  ChunkIndex,
  ContactPointId,
  DeviceId,
  DirectoryQuery,
  FEDERATION_LIMITS,
  ForwardBatch,
} from '@liaison/protocol';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { removeBlob } from '../blobs/reaper.js';
import { asBuffer } from '../bytes.js';
import { checked, RelayError } from '../errors.js';
import type { RelayDeps } from '../relay-deps.js';
import { blobDownloaded, blobStatus, findBlob, isBlobReader } from '../storage/blobs.js';
import { directoryEntry, searchDirectory } from '../storage/directory.js';
import { firstUseOfNonce, foreignDeviceNetworks } from '../storage/foreign.js';
import { fetchBundles } from '../storage/prekeys.js';
import type { Federation } from './federation.js';
import { type SignedHeaders, verifyRequestBody, verifyRequestHeaders } from './http-signature.js';
import { receiveBatch } from './inbox.js';

/**
 * Largest body read, once the headers are authenticated: a batch of messages for the inbox; a
 * few KiB for the other routes (lookups carry none, `downloaded` an empty object).
 */
const INBOX_BODY_BYTES = FEDERATION_LIMITS.maxBatchBodyBytes;
const OTHER_BODY_BYTES = 4 * 1024;
/** Bodies as sent, never inflated: a few KiB of gzip must not become 12 MiB here. */
const readInbox = express.raw({ type: () => true, inflate: false, limit: INBOX_BODY_BYTES });
const readOther = express.raw({ type: () => true, inflate: false, limit: OTHER_BODY_BYTES });

const Reader = z.strictObject({ reader: DeviceId });
const Requester = z.strictObject({ requester: DeviceId, hybrid: z.enum(['true', 'false']) });

/**
 * What partner relays may ask of this one, under /federation/v1: deliver batches (messages to our
 * contact points, receipts and urgent states for our senders), and look up our own network's
 * contact points, their prekey bundles and the attachments their devices may read. Every request
 * must be signed by a relay of a partner network (its manifest and ours naming each other), for
 * this relay's origin, recently, and only once.
 */
export function federationRoutes(deps: RelayDeps, federation: Federation): express.Router {
  const { partners } = federation;
  const router = express.Router();
  router.use(async (req: Request, res: Response, next) => {
    res.locals.networkId = await authenticatePeer(deps, federation, req, res);
    next();
  });
  const network = (res: Response) => res.locals.networkId as string;
  const json = (req: Request): unknown => {
    const body = req.body instanceof Buffer ? req.body : Buffer.alloc(0);
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw new RelayError('INVALID_INPUT', 'the body is not JSON');
    }
  };

  router.post('/inbox', async (req, res) => {
    const { items } = checked(ForwardBatch, json(req));
    res.json({ outcomes: await receiveBatch(deps, federation, network(res), items) });
  });

  router.get('/contact-points/:contactPointId', async (req, res) => {
    const id = checked(ContactPointId, req.params.contactPointId);
    const entry = await directoryEntry(deps.db, id, deps.config.now());
    // Our own network's contact points only: we do not speak for anyone else's.
    if (!entry || entry.contactPoint.networkId !== partners.network) {
      throw new RelayError('NOT_FOUND', `no contact point "${id}" in "${partners.network}"`);
    }
    res.json(entry);
  });

  router.get('/contact-points/:contactPointId/bundles', async (req, res) => {
    const id = checked(ContactPointId, req.params.contactPointId);
    const { requester, hybrid } = checked(Requester, { ...req.query });
    const entry = await directoryEntry(deps.db, id, deps.config.now());
    if (!entry || entry.contactPoint.networkId !== partners.network) {
      throw new RelayError('NOT_FOUND', `no contact point "${id}" in "${partners.network}"`);
    }
    // One-time prekeys are spent on each fetch. The requester is the partner's word (it may name any
    // device of its network), so the partner as a whole gets, for each contact point, what one of our
    // devices may fetch.
    await deps.limits.take(`bundles:${network(res)}:${id}`, deps.config.bundleFetchesPerMinute);
    const { response, low } = await fetchBundles(deps.db, id, requester, deps.config.now(), hybrid === 'true');
    for (const { deviceId, count } of low) deps.hub.prekeysLow(deviceId, count);
    res.json(response);
  });

  router.get('/directory', async (req, res) => {
    const query = checked(DirectoryQuery, { ...req.query });
    if (query.network !== undefined && query.network !== partners.network) {
      res.json({ entries: [] });
      return;
    }
    res.json(await searchDirectory(deps.db, { ...query, network: partners.network }, deps.config.now()));
  });

  /** A blob of ours a device of the partner's network may read: named a reader by the uploader, and known to be of that network. */
  const readable = async (req: Request, res: Response) => {
    const blobId = checked(BlobId, req.params.blobId);
    const { reader } = checked(Reader, { ...req.query });
    const row = await findBlob(deps.db, blobId);
    const ofNetwork = (await foreignDeviceNetworks(deps.db, [reader])).get(reader) === network(res);
    if (!row || !ofNetwork || !(await isBlobReader(deps.db, blobId, reader))) {
      throw new RelayError('NOT_FOUND', 'no blob with this id is for this reader');
    }
    return { row, reader };
  };
  router.get('/blobs/:blobId', async (req, res) => {
    const { row } = await readable(req, res);
    res.json(blobStatus(row));
  });

  router.get('/blobs/:blobId/chunks/:index', async (req, res) => {
    const { row } = await readable(req, res);
    const index = checked(ChunkIndex, req.params.index);
    if (row.completed_at === null) throw new RelayError('CONFLICT', 'the upload is not complete yet');
    if (index >= row.chunks) throw new RelayError('NOT_FOUND', `this blob has ${row.chunks} chunks`);
    const bytes = await deps.blobs.read(row.blob_id, index);
    if (!bytes) throw new RelayError('NOT_FOUND', 'no such blob');
    deps.metrics.blobBytes.inc({ direction: 'download' }, bytes.length);
    res.type('application/octet-stream').send(asBuffer(bytes));
  });

  router.post('/blobs/:blobId/downloaded', async (req, res) => {
    const { row, reader } = await readable(req, res);
    if (row.completed_at === null) throw new RelayError('CONFLICT', 'the upload is not complete yet');
    const pending = await blobDownloaded(deps.db, row.blob_id, reader, deps.config.now());
    if (pending === 0) await removeBlob(deps, row.blob_id);
    res.json(blobStatus(row));
  });

  router.use(() => {
    throw new RelayError('NOT_FOUND', 'no such federation endpoint');
  });
  return router;
}

/**
 * The partner network whose relay signed this request, or a refusal (counted by reason): a key no
 * partner relay holds, a signature that does not verify, a request made for another relay, one
 * created too long ago or ahead, or one seen before. Everything the headers can establish is
 * checked before the body is read, so that nobody but a partner relay, signing now for us, makes
 * this relay read (and hold) a body; then the body, read raw up to its route's limit, must be the
 * one signed, and the nonce new.
 */
async function authenticatePeer(deps: RelayDeps, federation: Federation, req: Request, res: Response): Promise<string> {
  const { partners } = federation;
  const refuse = (reason: string, error: RelayError): never => {
    deps.metrics.federationRefused.inc({ reason });
    throw error;
  };
  // Until the body is read, a refusal also ends the connection: its unread body is not waited for.
  const refuseUnread = (reason: string, error: RelayError): never => {
    res.set('connection', 'close');
    return refuse(reason, error);
  };
  const host = req.get('host');
  const origin = partners.origins.find((o) => new URL(o).host === host);
  if (!origin) {
    refuseUnread(
      'wrong-target',
      new RelayError('FORBIDDEN', 'the request is not addressed to an origin of this relay'),
    );
  }
  let signed: SignedHeaders;
  try {
    signed = verifyRequestHeaders(
      {
        method: req.method,
        targetUri: `${origin}${req.originalUrl}`,
        headers: {
          contentDigest: req.get('content-digest'),
          signatureInput: req.get('signature-input'),
          signature: req.get('signature'),
        },
      },
      (keyid) => partners.byKey(keyid)?.key,
    );
  } catch (error) {
    const code = error instanceof RelayError ? error.code : 'INTERNAL';
    return refuseUnread(code === 'FORBIDDEN' ? 'not-partner' : 'bad-signature', error as RelayError);
  }
  const networkId = partners.byKey(signed.keyid)?.networkId as string;
  const ageMs = deps.config.now() - signed.created * 1000;
  if (Math.abs(ageMs) > FEDERATION_LIMITS.maxRequestAgeMs) {
    refuseUnread('stale', new RelayError('EXPIRED', 'the request was not signed within the last few minutes'));
  }
  // Deliveries and lookups are counted apart: however many lookups a partner's relay is made to
  // ask (by its users, or by our own users' lookups echoing back), its batches still get in.
  // As the router matches it: any case, a trailing slash or not.
  const inbox = req.method === 'POST' && /^\/inbox\/?$/i.test(req.path);
  const { federationBatchesPerMinute, federationLookupsPerMinute } = deps.config;
  await deps.limits
    .take(
      `federation-${inbox ? 'batches' : 'lookups'}:${networkId}`,
      inbox ? federationBatchesPerMinute : federationLookupsPerMinute,
    )
    .catch((error: unknown) => {
      res.set('connection', 'close');
      throw error;
    });
  const encoding = req.get('content-encoding');
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    res.set('connection', 'close');
    throw new RelayError('INVALID_INPUT', 'partner relays send their bodies uncompressed (no Content-Encoding)');
  }
  const limit = inbox ? INBOX_BODY_BYTES : OTHER_BODY_BYTES;
  // Announced too large: refused as it stands (the parser would read the whole body off first).
  if (Number(req.get('content-length') ?? 0) > limit) {
    res.set('connection', 'close');
    throw new RelayError('PAYLOAD_TOO_LARGE', `body over ${limit} bytes`);
  }
  await readBody(req, res, inbox ? readInbox : readOther);
  const body = req.body instanceof Buffer ? req.body : Buffer.alloc(0);
  try {
    verifyRequestBody(signed, body);
  } catch (error) {
    return refuse('bad-signature', error as RelayError);
  }
  // Single use, for as long as the request could still pass the time check above, across restarts and nodes.
  const expiresAt = signed.created * 1000 + FEDERATION_LIMITS.maxRequestAgeMs + 1000;
  if (!(await firstUseOfNonce(deps.db, signed.keyid, signed.nonce, expiresAt))) {
    refuse('replay', new RelayError('BAD_CHALLENGE', 'this signed request was received before'));
  }
  return networkId;
}

/** Runs a body parser as a step of this handler: its refusals (too large) come back as thrown errors. */
function readBody(req: Request, res: Response, parser: express.RequestHandler): Promise<void> {
  return new Promise((done, failed) => {
    void parser(req, res, (error?: unknown) => (error ? failed(error) : done()));
  });
}
