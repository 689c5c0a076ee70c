import { editLine } from '@sluice/cli';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const type = (...chunks: string[]) =>
  chunks.reduce((state, chunk) => (state.done ? state : editLine(state.value, chunk)), editLine('', ''));

test('characters build the line and Enter ends it', () => {
  assert.equal(type('sk_', 'live', '\r'), { value: 'sk_live', done: true, cancelled: false });
  assert.equal(type('abc\n'), { value: 'abc', done: true, cancelled: false });
});

test('a paste that ends with Enter is the whole line, and what follows it is not read', () => {
  assert.equal(type('sk_live_pasted_key\rrest'), { value: 'sk_live_pasted_key', done: true, cancelled: false });
});

test('backspace (DEL or BS) deletes the last character, Ctrl-U the whole line', () => {
  assert.equal(type('abcd', '\x7f', '\b', 'x\r').value, 'abx');
  assert.equal(type('wrong', '\x15', 'right\r').value, 'right');
  assert.equal(type('\x7f\x7fa\r').value, 'a', 'backspace on an empty line does nothing');
  assert.equal(type('ké🔑', '\x7f\r').value, 'ké', 'a character, not a UTF-16 unit');
});

test('Ctrl-C cancels and forgets what was typed; Ctrl-D ends an empty line only', () => {
  assert.equal(type('secret', '\x03'), { value: '', done: false, cancelled: true });
  assert.equal(type('\x04'), { value: '', done: true, cancelled: false });
  assert.equal(type('ab\x04c\r').value, 'abc');
});

test('escape sequences (arrow keys) and other control characters are ignored', () => {
  assert.equal(type('ab', '\x1b[D', '\x1b[A', '\tc\r').value, 'abc');
});

test.run();
