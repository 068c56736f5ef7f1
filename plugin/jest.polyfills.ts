// Globals jsdom lacks and @grafana/* use while their modules load (before jest.setup.ts runs).
import { TextDecoder, TextEncoder } from 'node:util';

Object.assign(globalThis, { TextEncoder, TextDecoder });

// i18next (under @grafana/ui) advertises itself on console.info when it starts: keep test output clean.
const info = console.info.bind(console);
console.info = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].includes('i18next is made possible by')) {
    return;
  }
  info(...args);
};
