import nodemailer from 'nodemailer';
import type { Logger } from '@skyway/common';

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  /** Deterministic per notification, so a rare duplicate is recognisable (and folded by many mail clients). */
  messageId: string;
}

/** Sends one email; rejects when the message was not accepted. */
export interface Mailer {
  send(email: OutgoingEmail): Promise<void>;
  close(): void;
}

export interface MailerConfig {
  SMTP_URL?: string;
  SMTP_TIMEOUT_MS: number;
  MAIL_FROM: string;
}

/** SMTP at `SMTP_URL`; without it, nodemailer's JSON transport whose messages go to the log (one line each). */
export function createMailer(config: MailerConfig, logger: Logger): Mailer {
  if (config.SMTP_URL) {
    const transport = nodemailer.createTransport(
      {
        url: config.SMTP_URL,
        connectionTimeout: config.SMTP_TIMEOUT_MS,
        greetingTimeout: config.SMTP_TIMEOUT_MS,
        socketTimeout: config.SMTP_TIMEOUT_MS,
      },
      { from: config.MAIL_FROM },
    );
    return {
      async send(email) {
        await transport.sendMail({ ...email, messageId: email.messageId });
      },
      close: () => transport.close(),
    };
  }
  const transport = nodemailer.createTransport(
    { jsonTransport: true, skipEncoding: true },
    { from: config.MAIL_FROM },
  );
  return {
    async send(email) {
      const info = await transport.sendMail(email);
      logger.info('email (JSON transport; set SMTP_URL to deliver)', { email: info.message });
    },
    close: () => transport.close(),
  };
}

/** The domain of the sender address, for Message-IDs. */
export function mailDomain(from: string): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  return m ? m[1] : 'skyway.local';
}
