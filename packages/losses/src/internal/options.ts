/**
 * @internal
 * The check every factory runs on its options object before reading a field of it.
 */
import { ContrastiveError } from '@contrastive/core';

/**
 * @internal Throws unless `options` is an object (or `undefined`, which the factories' defaults
 * replace): `null`, a number or a string would otherwise fail with a `TypeError` on the first field
 * read, or be taken silently for the defaults.
 *
 * @param options - the received options argument.
 * @param fn - the factory's name, used in the message.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` naming `options`.
 */
export function assertOptionsObject(options: unknown, fn: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    const received = options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options;
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an options object, got ${received}`);
  }
}
