// Compile-only: checked by `tsc -p test/tsconfig.json`, never run.
import { createCyberhavenClient, isPaginationError } from '@sluice/cyberhaven';

const client = createCyberhavenClient({ baseUrl: 'https://acme.cyberhaven.io', apiKey: async () => 'k' });

// Every interceptor's events are typed on the one bus.
client.events.on('auth:token-acquired', (e) => void (e.expiresAt satisfies number));
client.events.on('rate-limit:queued', (e) => void (e.queued satisfies number));
client.events.on('retry:scheduled', (e) => void (e.delayMs satisfies number));
client.events.on('error:mapped', (e) => void (e.status satisfies number | undefined));

// paginate yields the item type asked for.
async function walk() {
  for await (const incident of client.paginate<{ id: string }>('/v2/incidents/list', { filter: { users: ['a'] } }, { pageSize: 100 })) {
    void (incident.id satisfies string);
  }
}
void walk;

client.interceptors.auth.rotate('new-key');
void (client.interceptors.rateLimit.stats().queued satisfies number);

try {
  await client.$fetch<{ resources: unknown[] }>('/v2/event-details', { query: { ids: 'a,b' } });
} catch (error) {
  if (isPaginationError(error)) void (error.page satisfies number);
}

// @ts-expect-error baseUrl is required
createCyberhavenClient({ apiKey: 'k' });

// @ts-expect-error apiKey belongs at the top level, not in the auth overrides
createCyberhavenClient({ baseUrl: 'https://acme.cyberhaven.io', apiKey: 'k', auth: { apiKey: 'other' } });

// @ts-expect-error rules is an array of { limit, windowMs }
createCyberhavenClient({ baseUrl: 'https://acme.cyberhaven.io', apiKey: 'k', rateLimit: { rules: { limit: 1 } } });

// errors takes error-map's options and the preset's deadline.
createCyberhavenClient({ baseUrl: 'https://acme.cyberhaven.io', apiKey: 'k', errors: { keepResponse: true, timeoutMs: 30_000 } });
void (client.interceptors.timeout satisfies { name: string } | undefined);

// @ts-expect-error timeoutMs is a number of milliseconds
createCyberhavenClient({ baseUrl: 'https://acme.cyberhaven.io', apiKey: 'k', errors: { timeoutMs: '30s' } });
