import net from 'node:net';

/**
 * A TCP proxy that tests place between a service and one of its dependencies (MariaDB, RabbitMQ, another
 * service) to inject network faults without touching the shared servers:
 *
 * - `cut()`: every open connection is destroyed and the listening socket closed, so new connections are
 *   refused (ECONNREFUSED) — the dependency is down;
 * - `delay(ms)`: every chunk, in both directions, is forwarded `ms` later (order kept) — a slow network;
 * - `blackhole()`: connections are accepted but nothing is forwarded either way — a partition: the
 *   dependency neither answers nor refuses;
 * - `heal()`: back to forwarding. Connections that lost bytes to a blackhole are destroyed (their byte
 *   streams are broken; what a real partition ends in after TCP gives up), and a cut proxy listens again
 *   on the same port, so the service reconnects to the address it was configured with.
 */
export type FaultMode = 'pass' | 'delay' | 'blackhole' | 'cut';

interface Link {
  client: net.Socket;
  upstream?: net.Socket;
  /** Bytes were dropped: the stream cannot be resumed. */
  broken: boolean;
  toUpstream: DelayQueue;
  toClient: DelayQueue;
}

/** Writes chunks to a socket no earlier than their due time, in arrival order. */
class DelayQueue {
  private readonly items: Array<{ due: number; chunk: Buffer }> = [];
  private timer?: NodeJS.Timeout;
  private onEmpty?: () => void;

  constructor(private readonly out: () => net.Socket | undefined) {}

  push(chunk: Buffer, delayMs: number): void {
    if (delayMs <= 0 && this.items.length === 0) {
      this.write(chunk);
      return;
    }
    this.items.push({ due: Date.now() + delayMs, chunk });
    this.arm();
  }

  /** Runs `fn` once every queued chunk was written (at once when none is queued). */
  whenEmpty(fn: () => void): void {
    if (this.items.length === 0) fn();
    else this.onEmpty = fn;
  }

  clear(): void {
    this.onEmpty = undefined;
    this.items.length = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.timer || this.items.length === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const now = Date.now();
        while (this.items.length && this.items[0].due <= now) this.write(this.items.shift()!.chunk);
        if (this.items.length === 0) this.onEmpty?.();
        this.arm();
      },
      Math.max(0, this.items[0].due - Date.now()),
    );
  }

  private write(chunk: Buffer): void {
    const s = this.out();
    if (s && !s.destroyed) s.write(chunk);
  }
}

export class FaultProxy {
  private server?: net.Server;
  private readonly links = new Set<Link>();
  private currentMode: FaultMode = 'pass';
  private delayMs = 0;
  port = 0;
  /** Connections accepted, and faults injected (each cut/delay/blackhole call). */
  readonly stats = { connections: 0, faults: 0 };

  private constructor(
    private readonly targetHost: string,
    private targetPort: number,
  ) {}

  /** Points new connections at another port (when the target's port is known only after the proxy's). */
  retarget(port: number): void {
    this.targetPort = port;
  }

  /** A proxy listening on a free 127.0.0.1 port, forwarding to `targetHost:targetPort`. */
  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
    const proxy = new FaultProxy(targetHost, targetPort);
    await proxy.listen();
    return proxy;
  }

  get mode(): FaultMode {
    return this.currentMode;
  }

  /** Open client connections (for tests that wait until a service has reconnected). */
  get openConnections(): number {
    return this.links.size;
  }

  async cut(): Promise<void> {
    this.stats.faults++;
    this.currentMode = 'cut';
    const server = this.server;
    this.server = undefined;
    for (const link of [...this.links]) this.drop(link);
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  delay(ms: number): void {
    this.stats.faults++;
    this.currentMode = 'delay';
    this.delayMs = ms;
  }

  blackhole(): void {
    this.stats.faults++;
    this.currentMode = 'blackhole';
  }

  async heal(): Promise<void> {
    for (const link of [...this.links]) if (link.broken) this.drop(link);
    this.currentMode = 'pass';
    this.delayMs = 0;
    if (!this.server) await this.listen();
  }

  async close(): Promise<void> {
    await this.cut();
    this.stats.faults--;
  }

  private async listen(): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    // The port of a cut proxy is free for a moment; retry briefly if something else grabbed it meanwhile.
    for (let attempt = 1; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(this.port, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
          });
        });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  private accept(client: net.Socket): void {
    this.stats.connections++;
    const link: Link = {
      client,
      broken: false,
      toUpstream: new DelayQueue(() => link.upstream),
      toClient: new DelayQueue(() => link.client),
    };
    this.links.add(link);
    client.on('error', () => undefined);
    client.on('close', () => link.toUpstream.whenEmpty(() => this.drop(link)));
    if (this.currentMode === 'cut') {
      this.drop(link);
      return;
    }
    if (this.currentMode === 'blackhole') {
      // Accepted, never connected onwards: the caller waits for an answer that does not come.
      link.broken = true;
      client.on('data', () => undefined);
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    link.upstream = upstream;
    upstream.on('error', () => undefined);
    // What the dependency said before closing (an error packet, say) still reaches the client, late if delayed.
    upstream.on('close', () => link.toClient.whenEmpty(() => this.drop(link)));
    client.on('data', (chunk: Buffer) => this.forward(link, link.toUpstream, chunk));
    upstream.on('data', (chunk: Buffer) => this.forward(link, link.toClient, chunk));
  }

  private forward(link: Link, queue: DelayQueue, chunk: Buffer): void {
    if (this.currentMode === 'blackhole') {
      link.broken = true;
      return;
    }
    queue.push(chunk, this.currentMode === 'delay' ? this.delayMs : 0);
  }

  private drop(link: Link): void {
    if (!this.links.delete(link)) return;
    link.toUpstream.clear();
    link.toClient.clear();
    link.client.destroy();
    link.upstream?.destroy();
  }
}
