// Per-epoch records as chart columns: error rates in percent (the paper's Figure 6), losses,
// learning rate.

export function columns(records) {
  const n = records.length;
  const out = {
    epoch: new Array(n),
    trainError: new Array(n),
    testError: new Array(n),
    trainLoss: new Array(n),
    testLoss: new Array(n),
    learningRate: new Array(n),
  };
  records.forEach((r, i) => {
    out.epoch[i] = r.epoch;
    out.trainError[i] = 100 * (1 - r.train_accuracy);
    out.testError[i] = 100 * (1 - r.test_accuracy);
    out.trainLoss[i] = r.train_loss;
    out.testLoss[i] = r.test_loss;
    out.learningRate[i] = r.learning_rate;
  });
  return out;
}

/** Several jobs' columns on one shared x axis (epochs 1..the longest), null where a job has
 * no such epoch: what uPlot needs to overlay curves of different lengths. */
export function aligned(perJob, key) {
  const longest = Math.max(0, ...perJob.map((c) => (c.epoch.length ? c.epoch[c.epoch.length - 1] : 0)));
  const xs = Array.from({ length: longest }, (_, i) => i + 1);
  const ys = perJob.map((c) => {
    const column = new Array(longest).fill(null);
    c.epoch.forEach((epoch, i) => {
      column[epoch - 1] = c[key][i];
    });
    return column;
  });
  return [xs, ys];
}
