/**
 * Imported first by main.ts (or loaded with `node --require`): starts tracing before http, pg
 * and redis are required, so that their instrumentations can patch them as they load.
 * Only src/config/ and the OTel packages are loaded before this runs.
 */
import { loadConfig } from '../config';
import { startTracing } from './tracing';

try {
  startTracing(loadConfig());
} catch {
  // A bad configuration is reported, with every variable named, by main.ts right after this.
}
