/** `inference-streams demo`. STUB: being written. */
import type { CliCommand } from '../command.js';

export const command: CliCommand = {
  name: 'demo',
  summary: 'coming',
  help: 'Usage: inference-streams demo (coming soon)',
  options: {},
  async run(_values, _positionals, io) {
    io.stderr.write('inference-streams demo: coming soon\n');
    return 1;
  },
};
