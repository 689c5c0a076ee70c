// The loopback server of the throughput benchmark, in its own process so it does not share the client's core:
// POST /v2/auth/token/access answers a token, anything else a small JSON body, at once. Prints its port.
import { createServer } from 'node:http';

const token = JSON.stringify({ access_token: `tok_${'x'.repeat(40)}`, expires_in: 86_400 });
const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    const body = request.method === 'POST' ? token : '{"ok":true}';
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
