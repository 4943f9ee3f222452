import https from 'node:https';
import { serveRecorder, type Responder } from './receiver';
import { testTls } from './tls';

/**
 * startReceiver over HTTPS, for webhooks that must be https:// (Firecrawl-
 * style crawl and batch events). Its certificate (127.0.0.1, ::1, localhost)
 * is signed by the run's throwaway CA, which every test process trusts via
 * NODE_EXTRA_CA_CERTS, so clients need no TLS options. `url` is
 * `https://127.0.0.1:<port>`.
 */
export function startHttpsReceiver(respond?: Responder, host = '127.0.0.1') {
  const { key, cert } = testTls();
  return serveRecorder('https', (handler) => https.createServer({ key, cert }, handler), respond, host);
}
