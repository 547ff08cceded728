/**
 * The demo's job, written the way a user would write it with the public API: export Innerworks
 * results to a resumable JSONL file, run a slice of them through a Reinfer model, import the
 * predictions into SafetyKit, and stream SafetyKit's results back. The `demo` command only adds
 * an emulator, progress bars and a summary table around it.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { parseJsonl, stringifyJsonl } from '../core/jsonl.js';
import { exportInferenceResults, type ExportSummary, type InferenceResult, type InferenceResultsStats } from '../innerworks/index.js';
import { predictDocuments, type Prediction, type ReinferDocument, type ReinferStats } from '../reinfer/index.js';
import { importResults, importWriter, type ImportResultsStats, type ImportWriterStats, type ImportWriterSummary } from '../safetykit/index.js';

/** Where each API lives and the credentials for it (from the emulator in the demo). */
export interface DemoEndpoints {
  innerworks: { baseUrl: string; apiKey: string };
  reinfer: { endpoint: string; token: string };
  safetykit: { baseUrl: string; apiKey: string };
}

export interface DemoFiles {
  results: string;
  predictions: string;
  safetykitResults: string;
}

export interface DemoProgress {
  exporting?(stats: InferenceResultsStats): void;
  predicting?(stats: ReinferStats, importing: ImportWriterStats): void;
  downloading?(stats: ImportResultsStats): void;
}

export interface DemoOutcome {
  export: ExportSummary;
  predict: ReinferStats;
  import: ImportWriterSummary & { stats: ImportWriterStats };
  results: ImportResultsStats;
}

/** A Reinfer document carrying the Innerworks result's id through the prediction. */
export type DemoDocument = ReinferDocument & { id: string };

/** A document for the model: the sign-in described in words, keyed by the Innerworks requestId. */
export function toDocument(result: InferenceResult): DemoDocument {
  const device = result.result.fingerprinting ?? {};
  const geo = result.result.geolocation ?? {};
  const vpn = geo.vpnIsEnabled ? ` through ${geo.vpnProvider ?? 'a'} VPN appearing in ${geo.vpnLocationCode ?? 'another country'}` : '';
  return {
    id: result.requestId,
    messages: [
      {
        subject: { text: `Sign-in review ${result.requestId}` },
        body: { text: `Sign-in from ${device.browser ?? 'an unknown browser'} on ${device.deviceOs ?? 'an unknown OS'} in ${geo.trueGeoLocationName ?? 'an unknown place'}${vpn}, IP ${geo.trueUserIpAddress ?? 'unknown'}.` },
        sent_at: result.timestamp,
      },
    ],
    timestamp: result.timestamp,
    user_properties: { 'string:Country': geo.trueGeoLocationCode ?? 'unknown', 'string:VPN': geo.vpnIsEnabled ? 'yes' : 'no' },
  };
}

/** A SafetyKit object: the prediction, keyed by the same id. */
export function toSafetykitObject(prediction: Prediction<DemoDocument>) {
  return {
    id: prediction.input.id,
    country: prediction.input.user_properties?.['string:Country'],
    vpn: prediction.input.user_properties?.['string:VPN'] === 'yes',
    labels: prediction.labels.map((label) => label.fullName),
    sentiment: prediction.sentiment,
    model_version: prediction.model?.version ?? null,
  };
}

export async function runDemoPipeline(
  endpoints: DemoEndpoints,
  files: DemoFiles,
  sizes: { predict: number },
  options: { signal?: AbortSignal; progress?: DemoProgress } = {},
): Promise<DemoOutcome> {
  const { signal, progress = {} } = options;

  // 1. Innerworks → JSONL file, exactly once and resumable (a rerun picks up where it stopped).
  const exported = await exportInferenceResults({
    ...endpoints.innerworks,
    file: files.results,
    batchSize: 5000,
    signal,
    onProgress: progress.exporting,
  });

  // 2. A slice of the results → Reinfer predictions → a SafetyKit import, in one pipeline.
  const predict = predictDocuments<DemoDocument>({ ...endpoints.reinfer, project: 'demo', dataset: 'sign-ins', version: 'live', concurrency: 4, signal });
  const importer = importWriter({ ...endpoints.safetykit, namespace: 'sign-in-reviews', signal, pollIntervalMs: 100 });
  const predictions = createWriteStream(files.predictions);
  const report = () => progress.predicting?.(predict.stats, importer.stats);
  await pipeline(
    createReadStream(files.results),
    parseJsonl({ source: files.results }),
    async function* firstResultsAsDocuments(results: AsyncIterable<InferenceResult>) {
      let taken = 0;
      // Read to the end rather than `break`: leaving early destroys the file stream, and
      // pipeline() reports that as an AbortError.
      for await (const result of results) {
        if (taken++ < sizes.predict) yield toDocument(result);
      }
    },
    predict,
    async function* keepAndConvert(outputs: AsyncIterable<Prediction<DemoDocument>>) {
      for await (const prediction of outputs) {
        // Keep the predictions on disk too, for a look after the demo.
        if (!predictions.write(`${JSON.stringify(prediction)}\n`)) await once(predictions, 'drain');
        report();
        yield toSafetykitObject(prediction);
      }
    },
    importer,
    { signal },
  );
  await new Promise<void>((resolve, reject) => predictions.end((error?: Error | null) => (error ? reject(error) : resolve())));
  report();
  const imported = importer.summary!;

  // 3. SafetyKit's outputs for the import, streamed line by line to a file.
  const results = importResults({ ...endpoints.safetykit, namespace: 'sign-in-reviews', requestId: imported.requestIds[0], signal, pollIntervalMs: 100 });
  results.on('progress', () => progress.downloading?.(results.stats));
  await pipeline(results, stringifyJsonl(), createWriteStream(files.safetykitResults), { signal });
  progress.downloading?.(results.stats);

  return {
    export: exported,
    predict: predict.stats,
    import: { ...imported, stats: importer.stats },
    results: results.stats,
  };
}
