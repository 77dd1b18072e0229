// Following jobs as they change: the API's Server-Sent Events when it has them (#8), polling
// GET /jobs/{id} and /metrics where the stream endpoint answers 404 (an API without it); and
// keeping a page of the owner's jobs or sweeps current (keepCurrent).

import { ApiError, api, streamEvents } from "./api.js";
import { FINAL } from "./vocabulary.js";

const POLL_MS = 1500;
const REFRESH_MS = 3000; // a page's re-read while something on it is unfinished
const OWNER_MODES = { live: "● live", polling: "↻ refreshing every 3 s", reconnecting: "reconnecting…" };
const RETRY_MS = [1000, 2000, 5000, 10000];

/** The metrics record an `epoch` event carries (the same fields as /metrics). */
function epochRecord(data) {
  const record = data?.metrics ?? data?.record ?? data;
  return record && Number.isInteger(record.epoch) ? record : null;
}

/**
 * Follow one job until it ends or stop() is called.
 * handlers: onJob(job), onRecord(record), onRecords(records), onProgress(data), onEvent(event),
 * onMode("live" | "polling").
 */
export function followJob(jobId, handlers, { epochsShown = 0, historyOnly = false } = {}) {
  const abort = new AbortController();
  const state = { lastId: null, epochs: epochsShown, stopped: false, failures: 0 };
  const path = `/jobs/${jobId}`;

  const refresh = async (withMetrics) => {
    const job = await api(path, { signal: abort.signal });
    if (withMetrics || job.progress.epochs_done !== state.epochs) {
      const { records } = await api(`${path}/metrics`, { signal: abort.signal });
      state.epochs = records.length;
      handlers.onRecords?.(records);
    }
    handlers.onJob?.(job);
    return job;
  };

  const onEvent = (event) => {
    if (event.id) state.lastId = event.id;
    handlers.onEvent?.(event);
    if (event.type === "epoch") {
      const record = epochRecord(event.data);
      if (record && record.epoch > state.epochs) {
        state.epochs = record.epoch;
        handlers.onRecord?.(record);
      }
    } else if (event.type === "progress") {
      handlers.onProgress?.(event.data);
    } else if (!historyOnly && (event.type === "status" || event.type === "attempt")) {
      refresh(FINAL.has(event.data?.status)).catch(() => {});
    }
  };

  const poll = async () => {
    handlers.onMode?.("polling");
    while (!state.stopped) {
      try {
        const job = await refresh(false);
        if (FINAL.has(job.status)) return;
      } catch (error) {
        if (error.name === "AbortError" || error.status === 401 || error.status === 404) return;
      }
      await sleep(POLL_MS, abort.signal);
    }
  };

  const stream = async () => {
    while (!state.stopped) {
      try {
        await streamEvents(`${path}/events/stream`, {
          onEvent,
          lastEventId: state.lastId,
          signal: abort.signal,
          onOpen: () => {
            state.failures = 0;
            handlers.onMode?.("live");
          },
        });
        // The server ends the stream after the job's final status event.
        if (historyOnly) return; // a job that had ended: its history was all that was wanted
        const job = await refresh(true);
        if (FINAL.has(job.status)) return;
      } catch (error) {
        if (error.name === "AbortError" || state.stopped) return;
        if (error instanceof ApiError && error.status === 404) return historyOnly ? null : poll();
        if (error instanceof ApiError && error.status === 401) return;
        handlers.onMode?.("reconnecting");
      }
      await sleep(RETRY_MS[Math.min(state.failures++, RETRY_MS.length - 1)], abort.signal);
    }
  };

  stream();
  return {
    stop() {
      state.stopped = true;
      abort.abort();
    },
  };
}

/**
 * The owner's status changes, for the jobs list: onChange() after a batch of them (a burst of
 * stored events on connect is one call), onMode("live" | "polling").
 */
export function followOwner({ onChange, onMode }) {
  const abort = new AbortController();
  const state = { stopped: false, lastId: null, timer: null, failures: 0 };
  const soon = () => {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => !state.stopped && onChange(), 250);
  };
  const run = async () => {
    while (!state.stopped) {
      try {
        await streamEvents("/events/stream", {
          signal: abort.signal,
          lastEventId: state.lastId,
          onOpen: () => {
            state.failures = 0;
            onMode("live");
          },
          onEvent: (event) => {
            if (event.id) state.lastId = event.id;
            soon();
          },
        });
      } catch (error) {
        if (error.name === "AbortError" || state.stopped) return;
        if (error instanceof ApiError && error.status === 404) {
          onMode("polling");
          return;
        }
        if (error instanceof ApiError && error.status === 401) return;
        onMode("reconnecting");
      }
      await sleep(RETRY_MS[Math.min(state.failures++, RETRY_MS.length - 1)], abort.signal);
    }
  };
  run();
  return {
    stop() {
      state.stopped = true;
      clearTimeout(state.timer);
      abort.abort();
    },
  };
}

/**
 * followOwner for a page of the owner's jobs or sweeps (the jobs list, the sweeps list, a sweep):
 * the mode shown in `badge`, onChange() after the stream's changes, and onTimer() (else onChange())
 * every 3 s while unfinished() (progress moves without an event) or while there is no stream.
 * The page calls schedule() after each reading and stop() when it goes.
 */
export function keepCurrent({ badge, unfinished, onChange, onTimer = onChange }) {
  const state = { timer: null, mode: "connecting", dead: false };
  const schedule = () => {
    clearTimeout(state.timer);
    if (state.dead) return;
    if (unfinished() || state.mode === "polling") state.timer = setTimeout(() => onTimer(), REFRESH_MS);
  };
  const live = followOwner({
    onChange,
    onMode: (mode) => {
      state.mode = mode;
      badge.textContent = OWNER_MODES[mode];
      badge.dataset.mode = mode;
      schedule();
    },
  });
  return {
    schedule,
    stop() {
      state.dead = true;
      live.stop();
      clearTimeout(state.timer);
    },
  };
}

export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
