import { createMockServer, isConnectionReset, type MockServer, type MockServerOptions } from './index.js';

// The few node:http shapes used here, typed structurally: the packages' type check has no Node types
// (library code must stay edge-safe), and this entry is the one place that touches node:http.
interface Socket {
  destroy(error?: Error): void;
}
interface IncomingMessage {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
  socket: Socket;
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  readonly complete: boolean;
}
interface ServerResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: Uint8Array, callback?: () => void): boolean;
  end(): unknown;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  destroy(): unknown;
  readonly destroyed: boolean;
  readonly writableFinished: boolean;
}
interface HttpServer {
  listen(port: number, host: string, callback: () => void): unknown;
  once(event: 'error', listener: (error: Error) => void): unknown;
  address(): { port: number } | string | null;
  close(callback: (error?: Error) => void): unknown;
  closeAllConnections?(): void;
}
interface HttpModule {
  createServer(listener: (req: IncomingMessage, res: ServerResponse) => void): HttpServer;
}

export interface ServeOptions extends MockServerOptions {
  /** TCP port; 0 picks a free one. @default 8787 */
  port?: number;
  /** Interface to listen on. @default '127.0.0.1' (loopback only) */
  host?: string;
  /** Serve an existing simulator instead of creating one from the other options. */
  server?: MockServer;
}

export interface ServedMock {
  /** Base URL, e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  readonly mock: MockServer;
  /** Stops listening, drops open connections and closes the simulator (unless it was passed in as `server`). */
  close(): Promise<void>;
}

function toBody(req: IncomingMessage): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on('data', (chunk) => {
        if (done) return;
        controller.enqueue(new Uint8Array(chunk));
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      });
      req.on('end', () => {
        if (!done) controller.close();
        done = true;
      });
      req.on('error', (error) => {
        if (!done) controller.error(error);
        done = true;
      });
      req.on('close', () => {
        if (!done && !req.complete) controller.error(new Error('the client closed the connection mid-body'));
        done = true;
      });
    },
    pull: () => void req.resume(),
    cancel() {
      // The handler stopped reading (413): discard the rest so the answer can still be sent.
      done = true;
      req.resume();
    },
  });
}

function toRequest(req: IncomingMessage, base: string, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  const method = (req.method ?? 'GET').toUpperCase();
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const init = { method, headers, signal, body: hasBody ? toBody(req) : null, duplex: 'half' };
  return new Request(new URL(req.url ?? '/', base), init as RequestInit);
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  if (response.body) {
    const reader = response.body.getReader();
    let written = Promise.resolve();
    for (;;) {
      // A body that fails mid-way (a reset fault) ends the connection once what came before it has gone out.
      const { done, value } = await reader.read().catch((error) => written.then(() => Promise.reject(error)));
      if (done) break;
      if (res.destroyed) return void reader.cancel().catch(() => {});
      let flushed!: () => void;
      written = new Promise((resolve) => (flushed = resolve));
      if (!res.write(value, flushed)) {
        await new Promise<void>((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        });
      }
    }
  }
  res.end();
}

/** Serves a simulator over HTTP (node:http), streaming bodies both ways. Resolves once listening. */
export async function serve(options: ServeOptions = {}): Promise<ServedMock> {
  const { port = 8787, host = '127.0.0.1', server, ...rest } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`\`port\` must be an integer from 0 to 65535, got ${port}`);
  const mock = server ?? createMockServer(rest);
  const http = (await import('node:http' as string)) as HttpModule;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  let base = `http://${hostInUrl}:${port}`;

  const httpServer = http.createServer((req, res) => {
    const aborter = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) aborter.abort(new DOMException('the client closed the connection', 'AbortError'));
    });
    let request: Request;
    try {
      request = toRequest(req, base, aborter.signal);
    } catch {
      res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
      res.write(new TextEncoder().encode('{"error":{"code":"invalid_request","message":"the request line could not be read"}}'));
      res.end();
      return;
    }
    mock.handler(request).then(
      (response) => send(res, response).catch(() => res.destroy()),
      (error) => (isConnectionReset(error) ? req.socket.destroy() : res.destroy()),
    );
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, resolve);
  });
  const address = httpServer.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  base = `http://${hostInUrl}:${actualPort}`;
  let closing: Promise<void> | undefined;
  return {
    url: base,
    port: actualPort,
    host,
    mock,
    close() {
      closing ??= (async () => {
        if (!server) await mock.close();
        await new Promise<void>((resolve, reject) => {
          httpServer.close((error) => (error ? reject(error) : resolve()));
          httpServer.closeAllConnections?.();
        });
      })();
      return closing;
    },
  };
}

export type { MockServer, MockServerOptions } from './index.js';
