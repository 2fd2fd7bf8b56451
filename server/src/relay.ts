import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { publicOrigin } from './auth/addressed-origin.js';
import { Authenticator } from './auth/authenticator.js';
import { MemoryEphemeralStore } from './auth/ephemeral-store.js';
import { RateLimiter } from './auth/rate-limiter.js';
import { openBlobStore } from './blobs/blob-store.js';
import { reapBlobs } from './blobs/reaper.js';
import { joinCluster } from './cluster.js';
import type { RelayConfig } from './config.js';
import { failureForLog } from './errors.js';
import { createFederation, type Federation } from './federation/federation.js';
import { expireForwards, Forwarder } from './federation/forwarder.js';
import { Partners } from './federation/partners.js';
import { createHttpApp } from './http/app.js';
import { createHttpServer } from './http/http-server.js';
import { createLogger } from './log.js';
import { RelayMetrics } from './metrics.js';
import { Poller } from './poller.js';
import type { RelayDeps } from './relay-deps.js';
import { DeliveryHub } from './socket/delivery-hub.js';
import { oneWriteATurn } from './socket/one-write-a-turn.js';
import { refuseWhileStopping } from './socket/refuse-while-stopping.js';
import { createSocketServer, wireSocketHandlers } from './socket/socket-server.js';
import { randomBytes, readySodium } from './sodium.js';
import { openDatabase } from './storage/database.js';
import { expireEnvelopes, forgetOldMetadata } from './storage/messages.js';
import { migrate } from './storage/migrations.js';
import { relayKey } from './storage/relay-keys.js';
import type { Database } from './storage/schema.js';
import { runEscalations } from './urgent/escalator.js';
import { sendWebhookAlerts } from './urgent/webhook-sender.js';

export interface Relay {
  readonly url: string;
  readonly port: number;
  readonly db: Kysely<Database>;
  /**
   * Expires undelivered envelopes (telling their senders), forgets old metadata, and deletes
   * attachments that every reader has or that expired; runs periodically too.
   */
  sweep(): Promise<void>;
  /** Runs the escalation steps due now (the poll does this too; tests call it after moving the clock). */
  escalate(): Promise<void>;
  /** Sends the webhook alerts due now (likewise). */
  sendWebhooks(): Promise<void>;
  /**
   * Stops accepting connections and events, lets running handlers and HTTP requests finish (and
   * what they started, such as the batch a send waits for), then closes sockets and the database.
   */
  stop(): Promise<void>;
}

/** Wires storage, auth, HTTP and socket.io for one relay node, and starts listening. */
export async function startRelay(config: RelayConfig): Promise<Relay> {
  await readySodium();
  // Before anything slow: manifests that do not hold stop the start with the reason.
  const partners = config.federation && new Partners(config.federation, config.trustedRoots);
  const log = createLogger(config.logLevel);
  for (const warning of partners?.warnings ?? []) log.warn({ event: 'federation.manifest-replaced' }, warning);
  const { db, space, pool } = await openDatabase(config.database, { log, reserveBytes: config.storageReserveBytes });
  await migrate(db);
  let listening = '';
  const io = createSocketServer();
  const cluster = config.redisUrl ? joinCluster(io, config.redisUrl, log) : undefined;
  const ephemeral = cluster?.store ?? new MemoryEphemeralStore(config.now);
  const hub = new DeliveryHub();
  const metrics = new RelayMetrics(db, () => hub.connectedCount, cluster?.ping, config.now);
  // Forwarding starts at once when a send queues something for a partner, not only at the next poll.
  let forwarder: Poller | undefined;
  let forwarding: Forwarder | undefined;
  const federation: Federation | undefined = partners && {
    ...createFederation(partners, { db, config, metrics, log }),
    nudge: () => forwarder?.wake(),
  };
  const deps: RelayDeps = {
    config,
    db,
    log,
    auth: new Authenticator(db, ephemeral, {
      origin: (addressed) => publicOrigin(config.publicOrigins, addressed) ?? listening,
      trustedRoots: config.trustedRoots,
      tokenTtlMs: config.tokenTtlMs,
      // In the database, so that every node of a cluster hashes a token alike, and Redis never holds it.
      tokenKey: await relayKey(db, 'bearer-tokens', randomBytes(32), config.now()),
      now: config.now,
    }),
    limits: new RateLimiter(ephemeral),
    hub,
    blobs: openBlobStore(config.blobStore, db, pool),
    storage: space,
    metrics,
    federation,
    clusterProblem: () => cluster?.problem(),
  };
  deps.hub.attach(io, cluster !== undefined);

  // Handlers in progress, so that stop() lets them finish before the database closes.
  const running = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    running.add(work);
    void work.finally(() => running.delete(work)).catch(() => undefined);
    return work;
  };

  const httpServer = createHttpServer(createHttpApp(deps), io, config, () =>
    deps.metrics.errors.inc({ code: 'RATE_LIMITED' }),
  );
  // An HTTP request runs until its response is sent: stop() waits for those in progress too.
  httpServer.on('request', (_req, res) => void track(new Promise((done) => res.once('close', done))));
  let closing = false;
  refuseWhileStopping(io, () => closing);
  oneWriteATurn(io);
  wireSocketHandlers(io, deps, track);
  // Pushes between nodes may be lost (a node dies, Redis restarts); stored envelopes never are.
  // Connected devices look at storage again periodically, and at once when Redis is back.
  const catchUp = setInterval(() => deps.hub.nudgeAll(), config.catchUpIntervalMs);
  catchUp.unref();
  cluster?.onRecovered(() => deps.hub.nudgeAll());
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, resolve);
  });
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${config.host}:${port}`;
  listening = url;
  const database =
    config.database.kind === 'postgres' ? 'postgresql' : `pglite ${config.database.dataDir ?? '(in memory)'}`;
  log.info(
    {
      event: 'relay.listening',
      url,
      database,
      trustedRoots: config.trustedRoots.length,
      web: config.webDir ?? 'off',
      ...(partners && { network: partners.network, partners: partners.list().map((p) => p.networkId) }),
    },
    `Liaison relay listening on ${url}`,
  );
  if (config.webDir && !existsSync(join(config.webDir, 'index.html'))) {
    log.warn(
      { event: 'relay.web-not-built', dir: config.webDir },
      'the web app is not built (npm run build): / says so until it is',
    );
  }
  if (config.trustedRoots.length === 0) {
    log.warn(
      { event: 'relay.no-roots' },
      'no trusted network roots configured (LIAISON_TRUSTED_ROOTS): no device can register',
    );
  }

  const sweep = async () => {
    const now = config.now();
    const expired = await expireEnvelopes(db, now);
    deps.metrics.envelopesExpired.inc(expired.length);
    deps.hub.receipts(expired);
    const forwards = await expireForwards(deps);
    if (forwards > 0)
      log.warn({ event: 'federation.expired', count: forwards }, 'messages for partner relays expired undelivered');
    await forgetOldMetadata(db, now - config.receiptRetentionMs);
    const blobs = await reapBlobs(deps);
    if (blobs > 0) log.info({ event: 'blobs.deleted', count: blobs }, 'attachments deleted');
    if (expired.length > 0)
      log.info({ event: 'envelopes.expired', count: expired.length }, 'undelivered envelopes expired');
  };
  const escalator = new Poller('escalation', config.escalationPollMs, () => runEscalations(deps), track, log);
  const webhooks = new Poller('webhooks', config.webhookPollMs, () => sendWebhookAlerts(deps), track, log);
  // Right away: steps that fell due while this node (or the whole relay) was down run now.
  escalator.start();
  webhooks.start();
  if (federation) {
    forwarding = new Forwarder(deps, federation, track, () => forwarder?.wake());
    const polled = forwarding;
    forwarder = new Poller('federation', config.federationPollMs, () => polled.poll(), track, log);
    forwarder.start();
  }

  const sweeper = setInterval(() => {
    void track(sweep()).catch((error) =>
      log.error({ event: 'sweep.error', err: failureForLog(error) }, 'sweep failed'),
    );
  }, config.sweepIntervalMs);
  sweeper.unref();

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    db,
    sweep: () => track(sweep()),
    escalate: () => escalator.runNow(),
    sendWebhooks: () => webhooks.runNow(),
    stop: () => {
      stopping ??= (async () => {
        closing = true;
        escalator.stop();
        webhooks.stop();
        forwarder?.stop();
        forwarding?.stop();
        clearInterval(sweeper);
        clearInterval(catchUp);
        httpServer.close();
        // Work in progress may start more (a send joins the next batch): wait until none is left.
        while (running.size > 0) await Promise.allSettled([...running]);
        await io.close();
        await ephemeral.close();
        await cluster?.close();
        space.close();
        await db.destroy();
        log.info({ event: 'relay.stopped' }, 'relay stopped');
      })();
      return stopping;
    },
  };
}
