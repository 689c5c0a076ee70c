import { compose, type Interceptor } from '@sluice/core';
import { createFakeTransport } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

test('runs interceptors in onion order, first listed outermost', async () => {
  const order: string[] = [];
  const tag = (name: string): Interceptor => ({
    name,
    async handle(request, next) {
      order.push(`${name}:in`);
      const response = await next(request);
      order.push(`${name}:out`);
      return response;
    },
  });
  const transport = createFakeTransport().fallback(() => new Response('ok'));
  const fetch = compose([tag('a'), tag('b')], { fetch: transport.fetch });
  await fetch('https://api.example/v2/x');
  assert.equal(order, ['a:in', 'b:in', 'b:out', 'a:out']);
});

test.run();
