import { createClient } from 'redis';
import type { Logger } from '@skyway/common';

/**
 * Cache-aside for search results and flight reads, as JSON text. Every entry is tagged with the catalog version
 * it was read under; a catalog write bumps the version (after its commit, before its response), so any read made
 * after that response, on any replica sharing the Redis, misses what was cached before it.
 */
export interface SearchCache {
  /** The cached text for `key`, or `load()`'s (stored for the TTL). One load per key and version at a time. */
  read(key: string, load: () => Promise<string>): Promise<string>;
  /** A catalog write committed: nothing cached before it may be served after this resolves. */
  catalogChanged(): Promise<void>;
  /** Hits, misses and reads that bypassed the cache (Redis unusable): for tests and the benchmark. */
  readonly stats: { hits: number; misses: number; bypassed: number };
  close(): Promise<void>;
}

/** Without Redis: every read is a load. */
export function noSearchCache(): SearchCache {
  const stats = { hits: 0, misses: 0, bypassed: 0 };
  return {
    stats,
    read: (_key, load) => {
      stats.bypassed += 1;
      return load();
    },
    catalogChanged: async () => undefined,
    close: async () => undefined,
  };
}

export interface RedisSearchCacheOptions {
  url: string;
  prefix: string;
  ttlMs: number;
  logger: Logger;
  /** A Redis command that takes longer fails (the read then goes to MySQL). */
  commandTimeoutMs?: number;
}

/**
 * The Redis cache. Never refuses to start: while Redis is down or unreachable every read goes to MySQL, one
 * warning is logged per outage, and it reconnects in the background. After every (re)connect, and after a
 * version bump that failed, the cache is unusable until a bump succeeds: a write made while Redis could not
 * be told is never hidden behind an entry cached before it.
 */
export function redisSearchCache(opts: RedisSearchCacheOptions): SearchCache {
  const { prefix, ttlMs, logger } = opts;
  const versionKey = `${prefix}catalog-version`;
  const entryKey = (key: string) => `${prefix}c:${key}`;
  const stats = { hits: 0, misses: 0, bypassed: 0 };
  const inflight = new Map<string, Promise<string>>();
  let usable = false;
  let warned = false;
  let closed = false;
  let restoring: Promise<void> | undefined;

  const client = createClient({
    url: opts.url,
    disableOfflineQueue: true,
    commandOptions: { timeout: opts.commandTimeoutMs ?? 250 },
    socket: {
      connectTimeout: 1000,
      reconnectStrategy: (retries) => (closed ? false : Math.min(100 * 2 ** retries, 2000)),
    },
  });

  const unavailable = (err: unknown) => {
    usable = false;
    if (warned || closed) return;
    warned = true;
    logger.warn('redis unavailable; searches are served from MySQL until it is back', {
      error: err instanceof Error ? err.message : String(err),
    });
  };

  /**
   * Bumps the version, then uses the cache again. A version key that is missing (a new or flushed Redis, or
   * an evicted key) starts from the clock, so a version number is never handed out twice.
   */
  const restore = (): Promise<void> => {
    restoring ??= (async () => {
      try {
        await client.set(versionKey, String(Date.now()), { condition: 'NX' });
        await client.incr(versionKey);
        usable = true;
        if (warned) logger.info('redis connection restored; searches are cached again');
        warned = false;
      } catch (err) {
        unavailable(err);
      } finally {
        restoring = undefined;
      }
    })();
    return restoring;
  };

  client.on('error', unavailable);
  client.on('end', () => unavailable(new Error('connection closed')));
  client.on('ready', () => void restore());
  client.connect().catch(unavailable);

  const bypass = (load: () => Promise<string>) => {
    stats.bypassed += 1;
    if (client.isReady && !closed) void restore();
    return load();
  };

  return {
    stats,

    async read(key, load) {
      if (!usable) return bypass(load);
      let version: string | null;
      let cached: string | null;
      try {
        [version, cached] = await client.mGet([versionKey, entryKey(key)]);
      } catch (err) {
        unavailable(err);
        return bypass(load);
      }
      if (version === null) {
        usable = false;
        return bypass(load);
      }
      // An entry is `<version>\n<text>`: only one tagged with the current version is served.
      if (cached !== null) {
        const newline = cached.indexOf('\n');
        if (cached.slice(0, newline) === version) {
          stats.hits += 1;
          return cached.slice(newline + 1);
        }
      }
      stats.misses += 1;
      // Keyed by version too: a read after a write's response never joins a load begun before it.
      const flightKey = `${version}\n${key}`;
      let pending = inflight.get(flightKey);
      if (!pending) {
        pending = (async () => {
          try {
            const text = await load();
            await client
              .set(entryKey(key), `${version}\n${text}`, { expiration: { type: 'PX', value: ttlMs } })
              .catch(unavailable);
            return text;
          } finally {
            inflight.delete(flightKey);
          }
        })();
        inflight.set(flightKey, pending);
      }
      return pending;
    },

    async catalogChanged() {
      try {
        if (!client.isReady) throw new Error('not connected');
        await client.incr(versionKey);
      } catch (err) {
        // Unusable until a bump succeeds (the next read, or the next connect, tries again).
        unavailable(err);
      }
    },

    async close() {
      closed = true;
      usable = false;
      client.destroy();
    },
  };
}
