/** `inference-streams validation`. STUB: being written. */
import type { CliCommand } from '../command.js';

export const command: CliCommand = {
  name: 'validation',
  summary: 'coming',
  help: 'Usage: inference-streams validation (coming soon)',
  options: {},
  async run(_values, _positionals, io) {
    io.stderr.write('inference-streams validation: coming soon\n');
    return 1;
  },
};
