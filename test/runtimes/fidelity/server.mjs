// The recording server of the drop-in fidelity suite, run by run.mjs in the machine's Node on loopback. Every request
// under /<id>/ is recorded as it arrived (method, path, every header as sent, body bytes, framing, whether the body
// came whole) and answered by its route; the suite reads the records back and compares fetch's with the pipeline's.
// Routes, after /<id>: /echo, /status/<n>, /once/<n> (that status the first time, then echo), /redirect/<code> (to
// /<id>/echo), /slow (a body that never ends), /hang (no answer). Beside them: POST /token (an access token),
// /seen/<id>?bytes=n (answers once the request under <id> has sent n body bytes, or `false` after a while) and
// /records/<id> (the records, once each request has ended).
import { createServer } from 'node:http';

const SEEN_WAIT_MS = 1500;
const HANG_MS = 3000;

/** Starts the server; resolves to { base, closedPort, close }. `closedPort` is a loopback port nothing listens on. */
export async function startRecorder() {
  const records = new Map();
  const watchers = new Set();
  const counts = new Map();
  let tokens = 0;
  const notify = () => {
    for (const watch of watchers) watch();
  };
  const wait = (ready, ms) =>
    new Promise((resolve) => {
      const check = () => {
        if (!ready()) return;
        done(true);
      };
      const done = (value) => {
        clearTimeout(timer);
        watchers.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => done(false), ms).unref();
      watchers.add(check);
      check();
    });

  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const [, id, route, arg] = url.pathname.split('/');
    if (id === 'seen') {
      const bytes = Number(url.searchParams.get('bytes') ?? 0);
      const arrived = () => (records.get(route) ?? []).some((r) => r.received >= bytes);
      return wait(arrived, SEEN_WAIT_MS).then((seen) => json(res, { seen }));
    }
    if (id === 'records') {
      const ended = () => (records.get(route) ?? []).every((r) => r.ended);
      return wait(ended, HANG_MS).then(() =>
        json(
          res,
          (records.get(route) ?? []).map(({ ended, received, ...r }) => r),
        ),
      );
    }
    if (id === 'token') {
      req.resume();
      return req.on('end', () => json(res, { access_token: `tok-${++tokens}`, expires_in: 3600 }));
    }
    const record = {
      method: req.method,
      url: req.url,
      headers: pairs(req.rawHeaders),
      framing: req.headers['transfer-encoding'] ?? (req.headers['content-length'] === undefined ? 'none' : 'content-length'),
      body: '',
      complete: false,
      received: 0,
      ended: false,
    };
    if (!records.has(id)) records.set(id, []);
    records.get(id).push(record);
    const chunks = [];
    const answer = answerFor(route, arg, id, counts);
    req.on('data', (chunk) => {
      chunks.push(chunk);
      record.received += chunk.length;
      notify();
      if (answer.early && !res.headersSent) reply(res, answer);
    });
    req.on('end', () => {
      record.complete = true;
      if (!answer.hang && !res.headersSent) reply(res, answer);
    });
    req.on('close', () => {
      record.body = Buffer.concat(chunks).toString('base64');
      record.ended = true;
      notify();
    });
    res.on('close', () => req.destroyed || req.destroy());
    if (answer.hang) setTimeout(() => res.headersSent || res.writeHead(504).end(), HANG_MS).unref();
  });
  server.keepAliveTimeout = 5000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const closed = createServer();
  await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedPort = closed.address().port;
  await new Promise((resolve) => closed.close(resolve));
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    closedPort,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

const pairs = (raw) => Array.from({ length: raw.length / 2 }, (_, i) => [raw[2 * i], raw[2 * i + 1]]);

function json(res, value) {
  const body = JSON.stringify(value);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** What a route answers: status, headers, body; `early`: as soon as body bytes arrive; `hang`: not at all. */
function answerFor(route, arg, id, counts) {
  const echo = { status: 200, headers: { 'content-type': 'text/plain', 'x-route': 'echo' }, body: 'echo' };
  switch (route) {
    case 'echo':
      return echo;
    case 'status': {
      const status = Number(arg);
      const empty = status === 204 || status === 304;
      return { status, headers: status === 429 ? { 'retry-after': '0' } : {}, body: empty ? undefined : `status ${status}` };
    }
    case 'once': {
      const n = (counts.get(id) ?? 0) + 1;
      counts.set(id, n);
      return n === 1 ? { status: Number(arg), headers: Number(arg) === 429 ? { 'retry-after': '0' } : {}, body: 'once' } : echo;
    }
    case 'redirect':
      return { status: Number(arg), headers: { location: `/${id}/echo` }, body: '' };
    case 'slow':
      return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'first;', open: true };
    case 'early':
      return { ...echo, early: true };
    case 'hang':
      return { hang: true };
    default:
      return { status: 404, headers: {}, body: 'no such route' };
  }
}

function reply(res, { status, headers, body, open }) {
  if (open) {
    res.writeHead(status, headers);
    res.write(body);
    // Never ends on its own: the client aborts while reading it.
    setTimeout(() => res.end(), HANG_MS).unref();
    return;
  }
  res.writeHead(status, body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
