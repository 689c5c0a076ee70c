// The server of the streamed-upload measure (loopback-upload.mjs), in its own process: POST /upload answers 200 as soon
// as the first byte of the request body arrives (and reads the rest); POST /v2/auth/token/access answers a token.
// Prints its port.
import { createServer } from 'node:http';

const token = JSON.stringify({ access_token: `tok_${'x'.repeat(40)}`, expires_in: 86_400 });
const server = createServer((request, response) => {
  if (request.url === '/upload') {
    request.once('data', () => response.writeHead(200, { 'content-type': 'text/plain', 'content-length': 4 }).end('seen'));
    request.resume();
    return;
  }
  request.resume();
  request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end(token));
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
