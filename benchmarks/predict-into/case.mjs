// One case of the predict-into benchmark in its own process (its peak RSS is its own): the CLI's
// `predict` command, run in-process through main() with the options at their defaults:
//   node case.mjs stdin    <input.jsonl> <out.jsonl>          non-resumable: --in - (stdin) --out FILE
//   node case.mjs jsonl    <input.jsonl> <out.jsonl>          resumable: predictInto, --in FILE --out FILE
//   node case.mjs postgres <input.jsonl> <postgres-url> <table>  resumable: predictInto, --in FILE --to URL --table T
// REINFER_ENDPOINT and REINFER_TOKEN come from the environment.
import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { closeAgents } from '../../dist/index.js';
import { main } from '../../dist/cli/main.js';
import { report } from '../lib.mjs';

const [mode, input, target, table] = process.argv.slice(2);
const common = ['predict', '--project', 'bench', '--dataset', 'docs', '--json'];
const argv = {
  stdin: [...common, '--in', '-', '--out', target],
  jsonl: [...common, '--in', input, '--out', target],
  postgres: [...common, '--in', input, '--to', target, '--table', table],
}[mode];
if (!argv) throw new Error(`unknown case ${mode}`);

let stdout = '';
let stderr = '';
const sink = (append) => new Writable({ write: (chunk, _encoding, callback) => (append(String(chunk)), callback()) });
const started = performance.now();
const code = await main(argv, {
  // The non-resumable path reads the same file as the others, as a shell redirect would give it.
  stdin: mode === 'stdin' ? createReadStream(input) : createReadStream('/dev/null'),
  stdout: sink((s) => (stdout += s)),
  stderr: sink((s) => (stderr += s)),
  env: process.env,
  progress: false,
  signal: new AbortController().signal,
  verbose: false,
});
const seconds = (performance.now() - started) / 1000;
if (code !== 0) throw new Error(`predict exited with ${code}: ${stderr}`);
const summary = JSON.parse(stdout.trim().split('\n').pop());
// Both summaries carry the predict stream's counters; `resumable` says which path ran.
if (summary.resumable !== (mode !== 'stdin')) throw new Error(`${mode}: the run was ${summary.resumable ? '' : 'not '}resumable`);
const predicted = summary.predicted;
await closeAgents();
report({ mode, predicted, seconds, docsPerSecond: predicted / seconds });
