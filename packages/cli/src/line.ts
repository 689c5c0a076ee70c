/** The state of a line typed at the hidden prompt. */
export interface LineEdit {
  value: string;
  /** Enter, or Ctrl-D on an empty line. */
  done: boolean;
  /** Ctrl-C. */
  cancelled: boolean;
}

/**
 * Applies one chunk of raw terminal input to `value`. Nothing is echoed: the caller prints no character of it.
 * Backspace and Ctrl-U edit; escape sequences (arrow keys) are ignored; a paste ending in Enter completes the line.
 */
export function editLine(value: string, chunk: string): LineEdit {
  if (chunk.startsWith('\x1b')) return { value, done: false, cancelled: false };
  let chars = [...value];
  for (const ch of chunk) {
    if (ch === '\r' || ch === '\n') return { value: chars.join(''), done: true, cancelled: false };
    if (ch === '\x03') return { value: '', done: false, cancelled: true };
    if (ch === '\x04' && chars.length === 0) return { value: '', done: true, cancelled: false };
    if (ch === '\x7f' || ch === '\b') chars.pop();
    else if (ch === '\x15') chars = [];
    else if (ch >= ' ') chars.push(ch);
  }
  return { value: chars.join(''), done: false, cancelled: false };
}
