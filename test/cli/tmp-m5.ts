import { serve } from '@sluice/mock-server/node';

const s = await serve({ port: 18788, limit: 1, windowMs: 3_600_000, countTokenExchange: false });
console.log(s.url);
