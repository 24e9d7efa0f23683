/** The hooks of module-log.ts: runs on the loader's thread, appends each loaded URL. */
import { appendFileSync } from 'node:fs';
import type { InitializeHook, LoadHook } from 'node:module';

let log = '';

export const initialize: InitializeHook<string> = (file) => {
  log = file;
};

export const load: LoadHook = (url, context, next) => {
  appendFileSync(log, `${url}\n`);
  return next(url, context);
};
