/**
 * Real receivers for notification tests: an HTTP server that answers webhooks as scripted and keeps
 * what it received, and an SMTP server (the `smtp-server` package) that keeps the mail it accepts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export type ReceivedWebhook = { method: string; url: string; headers: http.IncomingHttpHeaders; body: string };
export type ScriptedAnswer = { status: number; body?: string; headers?: Record<string, string>; delayMs?: number };

export type WebhookReceiver = {
  url: string;
  received: ReceivedWebhook[];
  /** Answers for the next requests, in order; after them, `fallback`. */
  script: (...answers: ScriptedAnswer[]) => void;
  fallback: ScriptedAnswer;
  close: () => Promise<void>;
};

export async function startWebhookReceiver(path = '/hooks/stagebook'): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const queue: ScriptedAnswer[] = [];
  const receiver = { fallback: { status: 200, body: 'ok' } as ScriptedAnswer };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = queue.shift() ?? receiver.fallback;
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
        res.end(answer.body ?? '');
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    script: (...answers: ScriptedAnswer[]) => void queue.push(...answers),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

export type ReceivedMail = { from: string; to: string[]; raw: string };

export type SmtpReceiver = { url: string; port: number; mails: ReceivedMail[]; close: () => Promise<void> };

/** Plain SMTP on 127.0.0.1 (no TLS, no auth), like a relay inside a company network. */
export async function startSmtpReceiver(opts: { rejectRecipient?: string } = {}): Promise<SmtpReceiver> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (opts.rejectRecipient && address.address === opts.rejectRecipient) {
        const err = Object.assign(new Error('5.1.1 mailbox unavailable'), { responseCode: 550 });
        callback(err);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { url: `smtp://127.0.0.1:${port}`, port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function decodeQp(text: string, underscoreIsSpace = false): string {
  const bytes: number[] = [];
  const src = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < src.length; i++) {
    const hex = src[i] === '=' ? src.slice(i + 1, i + 3) : '';
    if (/^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (underscoreIsSpace && src[i] === '_') bytes.push(0x20);
    else bytes.push(...Buffer.from(src[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * A received message made readable for assertions: headers unfolded with RFC 2047 words decoded
 * (`Subject: =?UTF-8?Q?...?=`), body parts' quoted-printable undone.
 */
export function readableMail(raw: string): string {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw
    .slice(0, split)
    .replace(/\r\n[ \t]+/g, ' ')
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?Q\?(.*?)\?=/gi, (_m, q: string) => decodeQp(q, true));
  return `${head.replace(/\r\n/g, '\n')}\n\n${decodeQp(raw.slice(split + 4)).replace(/\r\n/g, '\n')}`;
}
