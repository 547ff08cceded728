/** `inference-streams validation`: a Reinfer model's validation statistics, as a table or JSON. */
import { getValidation, type Validation } from '../../reinfer/index.js';
import { COMMON_HELP, EXIT, UsageError, parseIntegerFlag, writeJsonSummary, type CliCommand, type CliIO, type OptionValues } from '../command.js';
import { reinferTarget } from '../reinfer-target.js';

export const command: CliCommand = {
  name: 'validation',
  help: `Usage: inference-streams validation --project P --dataset D [options]

Shows how well a model version performs (the Validation page of the platform): dataset score
and quality, balance, coverage, label warnings, and the taxonomy.

Options:
  --project P             project name (required)
  --dataset D             dataset name (required)
  --version V             an integer, live, staging or latest (default live, as for predict: the
                          statistics of the model your predictions come from; latest is the
                          newest version with statistics; the emulator knows 1..6, live = 5,
                          staging = latest = 6)
  --timeout-ms MS         whole-request timeout (default 240000)
  --endpoint URL          tenant API endpoint (env REINFER_ENDPOINT); --base-url is the same

Environment:
  REINFER_TOKEN           API token, sent as Authorization: Bearer (required)
  REINFER_ENDPOINT        tenant API endpoint

${COMMON_HELP}

Examples:
  inference-streams validation --project acme --dataset emails
  inference-streams validation --project acme --dataset emails --version 5 --json | jq .dataset_score
`,
  options: {
    project: { type: 'string' },
    dataset: { type: 'string' },
    version: { type: 'string' },
    'timeout-ms': { type: 'string' },
    endpoint: { type: 'string' },
    'base-url': { type: 'string' },
  },
  async run(values: OptionValues, positionals: string[], io: CliIO): Promise<number> {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const started = Date.now();
    const { endpoint, token, project, dataset } = reinferTarget(values, io);
    // live, as predict's default: the library's getValidation() keeps its own default (latest).
    const raw = typeof values.version === 'string' ? values.version : 'live';
    const version = /^\d+$/.test(raw) ? Number(raw) : (raw as 'latest');
    const validation = await getValidation({
      endpoint,
      token,
      project,
      dataset,
      version,
      timeoutMs: parseIntegerFlag('timeout-ms', values['timeout-ms'] as string | undefined, 1, 86_400_000),
      signal: io.signal,
    });
    // The statistics are the summary: top-level fields, so `--json | jq .dataset_score` works.
    if (values.json === true) writeJsonSummary(io, 'validation', { project, dataset, ...validation, elapsedMs: Date.now() - started });
    else io.stdout.write(formatValidation(validation, `${project}/${dataset}`));
    return EXIT.ok;
  },
};

/** A readable table of the statistics and the taxonomy. */
export function formatValidation(v: Validation, dataset: string): string {
  const score = (value: number | null | undefined, quality: string | null | undefined, digits = 3) =>
    value === null || value === undefined ? 'n/a' : `${typeof value === 'number' ? value.toFixed(digits) : value}${quality ? ` (${quality})` : ''}`;
  const rows: Array<[string, string]> = [
    ['Model version', String(v.version)],
    ['Dataset score', `${v.dataset_score}/100${v.dataset_quality ? ` (${v.dataset_quality})` : ''}`],
    ['Mean average precision', score(v.mean_average_precision_safe, undefined)],
    ['Balance', score(v.balance, v.balance_quality)],
    ['Coverage', score(v.coverage, v.coverage_quality)],
    ['All labels', v.all_labels_quality ?? 'n/a'],
    ['Underperforming labels', v.underperforming_labels_quality ?? 'n/a'],
    ['Reviewed comments', String(v.num_reviewed_comments)],
    ['Labels', `${v.num_labels} (${v.num_amber_labels} amber, ${v.num_red_labels} red)`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = [`Validation of ${dataset}`, '', ...rows.map(([k, value]) => `  ${k.padEnd(width)}  ${value}`), '', 'Taxonomy:'];
  for (const label of v.labels ?? []) lines.push(`  ${'  '.repeat(Math.max(0, (label.parts?.length ?? 1) - 1))}${label.parts?.at(-1) ?? label.name}`);
  return `${lines.join('\n')}\n`;
}
