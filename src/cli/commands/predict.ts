/** `inference-streams predict`. STUB: being written. */
import type { CliCommand } from '../command.js';

export const command: CliCommand = {
  name: 'predict',
  summary: 'coming',
  help: 'Usage: inference-streams predict (coming soon)',
  options: {},
  async run(_values, _positionals, io) {
    io.stderr.write('inference-streams predict: coming soon\n');
    return 1;
  },
};
