import type { Logger } from 'pino';
import type { OnCallConfig, ServerConfig } from '../config/schema';
import { OnCallChecker } from './checker';

export { OnCallChecker, onCallSourceProblems, type OnCallAnswer, type OnCallQuestion } from './checker';
export { Rota } from './rota';

/**
 * One checker (sources and cache) per running server and configuration: a reload that changes
 * onCall builds new sources (a rotated token is read again) and starts with an empty cache.
 * Held beside the server's context rather than in it, keyed by that context object.
 */
const checkers = new WeakMap<object, { config: OnCallConfig; checker: OnCallChecker }>();

export function onCallChecker(ctx: { config(): ServerConfig; log: Logger }): OnCallChecker {
  const config = ctx.config().onCall;
  const held = checkers.get(ctx);
  if (held && held.config === config) return held.checker;
  const checker = OnCallChecker.fromConfig(config, ctx.log);
  checkers.set(ctx, { config, checker });
  return checker;
}
