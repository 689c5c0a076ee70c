import { ClosedError, hasCode, isSluiceError, SluiceError } from '@sluice/core';
import { describeUrl, isLoopbackHost } from '@sluice/core/http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

test('sluice errors carry a stable code, a readable name and safe JSON', () => {
  const error = new ClosedError();
  assert.is(error.name, 'ClosedError');
  assert.is(error.code, 'ERR_SLUICE_CLOSED');
  assert.equal(JSON.parse(JSON.stringify(error)), { name: 'ClosedError', code: 'ERR_SLUICE_CLOSED', message: 'sluice pipeline is closed' });
  assert.ok(String(error.stack).startsWith('ClosedError: sluice pipeline is closed'));
});

test('guards recognise sluice errors by brand, not by class identity', () => {
  const foreign = Object.assign(new Error('x'), { code: 'ERR_SLUICE_CLOSED', [Symbol.for('sluice.error')]: true });
  assert.ok(isSluiceError(foreign));
  assert.ok(hasCode(foreign, 'ERR_SLUICE_CLOSED'));
  assert.not.ok(isSluiceError(new Error('plain')));
  assert.not.ok(isSluiceError(null));
  assert.ok(isSluiceError(new SluiceError('ERR_X', 'x')));
});

test('the cause is kept but never serialised', () => {
  const cause = new Error('secret-bearing cause');
  const error = new SluiceError('ERR_X', 'wrapped', { cause });
  assert.is(error.cause, cause);
  assert.not.ok(JSON.stringify(error).includes('secret-bearing'));
});

test('describeUrl drops query, fragment and userinfo', () => {
  assert.is(describeUrl('https://user:pass@api.example:8443/v2/items?token=abc#frag'), 'https://api.example:8443/v2/items');
  assert.is(describeUrl(new URL('http://127.0.0.1/x?y')), 'http://127.0.0.1/x');
  assert.is(describeUrl('not a url'), '<invalid url>');
});

test('loopback hosts are recognised, look-alikes are not', () => {
  for (const host of ['localhost', 'LOCALHOST', 'localhost.', 'api.localhost', '127.0.0.1', '127.1.2.3', '[::1]'])
    assert.ok(isLoopbackHost(host), host);
  for (const host of ['localhost.evil.com', '127.0.0.1.nip.io', '10.0.0.1', 'example.com', '[::2]', '128.0.0.1'])
    assert.not.ok(isLoopbackHost(host), host);
});

test.run();
