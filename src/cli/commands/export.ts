/** `inference-streams export`. STUB: being written. */
import type { CliCommand } from '../command.js';

export const command: CliCommand = {
  name: 'export',
  summary: 'coming',
  help: 'Usage: inference-streams export (coming soon)',
  options: {},
  async run(_values, _positionals, io) {
    io.stderr.write('inference-streams export: coming soon\n');
    return 1;
  },
};
