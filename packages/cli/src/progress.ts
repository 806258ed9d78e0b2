import cliProgress from 'cli-progress';
import { ContrastiveError, assertOneOf } from '@contrastive/core';

/** Progress reporting of a training run. @category CLI */
export interface Progress {
  /** Start an epoch of `steps` steps. */
  startEpoch(epoch: number, epochs: number, steps: number): void;
  /** One step done, with its loss when known. */
  step(loss: number | undefined): void;
  /** The epoch is over. */
  endEpoch(summary: string): void;
  /** Print a line without breaking the bar. */
  log(line: string): void;
}

/**
 * A terminal progress bar (cli-progress) per epoch, or plain lines when `quiet` or when stdout is
 * not a terminal.
 *
 * @param options - `quiet` prints only the per-epoch summary lines.
 * @returns a {@link Progress}.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `options` is not an object or `quiet` is not a
 * boolean.
 * @category CLI
 */
export function createProgress(options: { quiet: boolean }): Progress {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to 'createProgress' must be { quiet: boolean }, got ${options === null ? 'null' : typeof options}`);
  }
  assertOneOf(options.quiet, [true, false] as const, 'quiet', 'createProgress');
  const interactive = !options.quiet && process.stdout.isTTY === true;
  let bar: cliProgress.SingleBar | undefined;
  return {
    startEpoch(epoch, epochs, steps) {
      if (!interactive) return;
      bar = new cliProgress.SingleBar(
        {
          format: `epoch ${epoch}/${epochs} [{bar}] {value}/{total} steps | loss {loss} | {duration_formatted} elapsed, eta {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(steps, 0, { loss: '-' });
    },
    step(loss) {
      bar?.increment(1, loss === undefined ? {} : { loss: loss.toFixed(4) });
    },
    endEpoch(summary) {
      bar?.stop();
      bar = undefined;
      console.log(summary);
    },
    log(line) {
      if (bar !== undefined) bar.stop();
      console.log(line);
    },
  };
}
