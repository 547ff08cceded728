/** `inference-streams ingest`. STUB: being written. */
import type { CliCommand } from '../command.js';

export const command: CliCommand = {
  name: 'ingest',
  summary: 'coming',
  help: 'Usage: inference-streams ingest (coming soon)',
  options: {},
  async run(_values, _positionals, io) {
    io.stderr.write('inference-streams ingest: coming soon\n');
    return 1;
  },
};
