export { createTestClock, type TestClock } from './testing/clock.js';
export { createFakeTransport, type FakeTransport, json, type RecordedCall, type Reply } from './testing/transport.js';
