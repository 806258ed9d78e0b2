#!/usr/bin/env node
import { isContrastiveError } from '@contrastive/core';
import { USAGE, parseTrainArgs } from './args.js';
import { runTrainCommand } from './train-command.js';

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    console.log(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command !== 'train') {
    console.error(`contrastive: unknown command '${command}'\n\n${USAGE}`);
    return 1;
  }
  const parsed = parseTrainArgs(rest);
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  await runTrainCommand(parsed);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(isContrastiveError(error) ? `contrastive: ${error.message}` : error);
    process.exitCode = 1;
  },
);
