import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedEmail {
  from: string;
  to: string[];
  subject: string;
  messageId: string;
  text: string;
  raw: string;
}

/** Parses a raw message with mailparser (headers, encoded words, transfer encodings). */
export async function parseEmail(raw: string): Promise<Omit<ReceivedEmail, 'to'>> {
  const mail = await simpleParser(raw);
  return {
    from: mail.from?.text ?? '',
    subject: mail.subject ?? '',
    messageId: mail.messageId ?? '',
    text: (mail.text ?? '').replace(/\r\n/g, '\n'),
    raw,
  };
}

/**
 * A real SMTP server (the `smtp-server` package) that keeps every message it accepts. `stop()` closes it, so
 * senders get ECONNREFUSED like with a mail server that is down; `start()` brings it back on the same port.
 */
export class SmtpSink {
  readonly messages: ReceivedEmail[] = [];
  private server: SMTPServer | null = null;
  port = 0;

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      closeTimeout: 1000,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          parseEmail(raw).then(
            (mail) => {
              this.messages.push({ ...mail, to: session.envelope.rcptTo.map((r) => r.address) });
              callback();
            },
            (err: Error) => callback(err),
          );
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The messages about one booking (optionally of one kind), told apart by the service's Message-ID. */
  about(
    bookingId: number,
    kind?: 'confirmation' | 'cancellation' | 'reminder' | 'seats-changed',
  ): ReceivedEmail[] {
    const prefix = `<skyway.booking-${bookingId}.${kind ?? ''}`;
    // A seat change's email is one per event: its Message-ID goes on with `.<eventId>`.
    return this.messages.filter(
      (m) =>
        m.messageId.startsWith(prefix) &&
        (!kind || m.messageId.startsWith(`${prefix}@`) || m.messageId.startsWith(`${prefix}.`)),
    );
  }
}
