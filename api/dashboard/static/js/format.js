// How values read on the page: names, error rates, times.

const ARCH_NAMES = {
  resnet: "ResNet",
  plain: "plain",
  preact_resnet: "PreAct-ResNet",
  vgg: "VGG",
  vgg_keras: "VGG (Keras)",
};

/** `ResNet-56`, `plain-20` (the paper's names). */
export function networkName(architecture, depth) {
  return `${ARCH_NAMES[architecture] ?? architecture}-${depth}`;
}

/** `ResNet-56 · cifar10`, `plain-20 · cifar10`. */
export function jobName(spec) {
  return `${networkName(spec.architecture, spec.depth)} · ${spec.dataset}`;
}

/** A sweep's label: its name, else its preset, else its short id. */
export function sweepName(sweep) {
  return sweep.name || sweep.preset || `sweep ${shortId(sweep.id)}`;
}

/** A grid value as a cell shows it: as the API sent it, with `—` for null. */
export function gridValue(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

export function shortId(id) {
  return String(id).slice(0, 8);
}

/** An accuracy (0 to 1) as an error rate in percent, as the paper reports it. */
export function errorPct(accuracy, digits = 2) {
  if (accuracy === null || accuracy === undefined) return "—";
  return `${(100 * (1 - accuracy)).toFixed(digits)} %`;
}

/** An error the API gives as a fraction (0 to 1: a sweep child's, the sweep report's) in
 * percent, as the paper reports it. */
export function percentError(fraction, digits = 2) {
  if (fraction === null || fraction === undefined) return "—";
  return `${(100 * fraction).toFixed(digits)} %`;
}

/** A fraction as a bare percentage for a table whose header names the unit: `8.41`. */
export function percent(fraction, digits = 2) {
  if (fraction === null || fraction === undefined) return "—";
  return (100 * fraction).toFixed(digits);
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** From start to finish, or to now while it runs. */
export function jobDuration(job, now = Date.now()) {
  if (!job.started_at) return null;
  const end = job.finished_at ? Date.parse(job.finished_at) : now;
  return (end - Date.parse(job.started_at)) / 1000;
}

export function dateTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return date.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** Seconds left: the API's estimate when it gives one (progress events, #8), else the mean
 * epoch time so far times the epochs left. */
export function etaSeconds(job) {
  const progress = job.progress || {};
  if (Number.isFinite(progress.eta_seconds)) return progress.eta_seconds;
  if (job.status !== "running" || !job.latest_metrics) return null;
  const left = progress.epochs - progress.epochs_done;
  return left * job.latest_metrics.seconds;
}
