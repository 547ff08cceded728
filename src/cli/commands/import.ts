/** `inference-streams import`. STUB: being written. */
import type { CliCommand } from '../command.js';

export const command: CliCommand = {
  name: 'import',
  summary: 'coming',
  help: 'Usage: inference-streams import (coming soon)',
  options: {},
  async run(_values, _positionals, io) {
    io.stderr.write('inference-streams import: coming soon\n');
    return 1;
  },
};
