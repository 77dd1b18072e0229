// Data sets (issue 19): the built-in ones and your uploads (#/datasets), an upload form with a
// byte progress bar (XMLHttpRequest: fetch reports no upload progress), and one data set
// (#/datasets/<id>) with its class counts and sample images, followed until it is processed.

import { ApiError, api } from "../api.js";
import { confirmDialog } from "../components/confirm.js";
import { h, notice, replace } from "../dom.js";
import { dateTime, shortId } from "../format.js";
import { getKey } from "../session.js";

const POLL_MS = 1000;

function countsText(dataset) {
  if (dataset.status !== "ready") return `${Math.round(dataset.progress * 100)} %`;
  return `${dataset.train_images} + ${dataset.test_images} images, ${dataset.num_classes} classes`;
}

/** POST /datasets with the file as the body; onProgress(sent, total); resolves to the answer. */
function upload(file, params, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/datasets?${new URLSearchParams(params)}`);
    request.setRequestHeader("Authorization", `Bearer ${getKey()}`);
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.upload.onprogress = (event) => onProgress(event.loaded, event.total || file.size);
    request.onerror = () => reject(new Error("the upload failed: the connection was lost"));
    request.onload = () => {
      let body = null;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        body = null;
      }
      if (request.status >= 400) reject(new ApiError(request.status, body));
      else resolve(body);
    };
    request.send(file);
  });
}

export async function datasetsPage(view, { match }) {
  if (match && match[1]) return datasetPage(view, match[1]);
  const timers = [];
  const body = h("tbody", {});
  const file = h("input", { type: "file", id: "dataset-file", required: true, accept: ".zip,.tar,.gz,.tgz,.npz" });
  const name = h("input", { type: "text", id: "dataset-name", maxlength: "200", placeholder: "the file's name" });
  const fraction = h("input", { type: "number", id: "dataset-test-fraction", min: "0", max: "0.99", step: "any", value: "0.2" });
  const bar = h("progress", { id: "upload-progress", max: "1", value: "0", hidden: true });
  const sent = h("span", { class: "muted", id: "upload-bytes" });
  const button = h("button", { type: "submit", id: "upload" }, "Upload");

  async function load() {
    const found = await api("/datasets");
    replace(
      body,
      found.builtin.map((d) =>
        h("tr", { dataset: { name: d.name } },
          h("td", {}, d.name), h("td", {}, "built-in"),
          h("td", {}, `${d.train_images} + ${d.test_images} images, ${d.classes} classes`),
          h("td", { class: "muted" }, d.available ? "on the service" : "not in DATA_DIR")),
      ),
      found.uploads.map((d) =>
        h("tr", { dataset: { id: d.id, status: d.status } },
          h("td", {}, h("a", { href: `#/datasets/${d.id}` }, d.name), h("div", { class: "muted mono" }, shortId(d.id))),
          h("td", {}, d.status),
          h("td", {}, countsText(d), d.error ? h("div", { class: "field-error" }, d.error) : null),
          h("td", {}, dateTime(d.created_at))),
      ),
    );
    if (found.uploads.some((d) => d.status === "processing")) timers.push(setTimeout(load, POLL_MS));
  }

  async function submit(event) {
    event.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    button.disabled = true;
    bar.hidden = false;
    try {
      const params = { name: name.value || chosen.name, filename: chosen.name, test_fraction: fraction.value || "0.2" };
      const answer = await upload(chosen, params, (done, total) => {
        bar.value = total ? done / total : 0;
        sent.textContent = `${(done / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MiB`;
      });
      notice(`Uploaded; ${answer.name} is being checked.`);
      location.hash = `#/datasets/${answer.id}`;
    } catch (error) {
      notice(error.message, "error");
    } finally {
      button.disabled = false;
    }
  }

  view.append(
    h("div", { class: "toolbar" }, h("h1", {}, "Data sets")),
    h("form", { class: "upload", id: "upload-form", onsubmit: submit },
      h("label", { for: "dataset-file" }, "Archive (CIFAR python .tar.gz, image folder .zip/.tar[.gz], .npz)"), file,
      h("label", { for: "dataset-name" }, "Name"), name,
      h("label", { for: "dataset-test-fraction" }, "Test share when the archive has no test/ folder"), fraction,
      button, bar, sent),
    h("div", { class: "table-wrap" },
      h("table", { id: "datasets-table" },
        h("thead", {}, h("tr", {}, ["data set", "status", "content", "uploaded"].map((t) => h("th", { scope: "col" }, t)))),
        body)),
  );
  await load();
  return { destroy: () => timers.forEach(clearTimeout) };
}

async function datasetPage(view, id) {
  const timers = [];
  const box = h("div", { id: "dataset" });
  view.append(box);

  async function remove() {
    try {
      await api(`/datasets/${id}`, { method: "DELETE" });
      notice("Data set deleted.");
      location.hash = "#/datasets";
    } catch (error) {
      notice(error.message, "error");
    }
  }

  async function load() {
    const d = await api(`/datasets/${id}`);
    const dialog = confirmDialog({
      id: "delete-dataset", title: "Delete this data set?", text: "Jobs that used it keep their record.",
      keep: "Keep it", confirm: "Delete", confirmId: "confirm-delete", onConfirm: remove,
    });
    replace(
      box,
      h("div", { class: "toolbar" }, h("h1", {}, d.name),
        h("button", { type: "button", class: "danger", id: "delete", onclick: () => dialog.showModal() }, "Delete")),
      dialog,
      h("p", { id: "dataset-status", dataset: { status: d.status } }, `${d.status}: ${countsText(d)}`),
      d.error ? h("p", { class: "field-error", id: "dataset-error" }, d.error) : null,
      d.fingerprint ? h("p", { class: "mono muted" }, `fingerprint ${d.fingerprint}`) : null,
      d.info?.resize && d.info.resized_images ? h("p", { class: "muted" }, `${d.info.resized_images} images resized: ${d.info.resize}`) : null,
      d.class_names
        ? h("table", { id: "class-table" },
            h("thead", {}, h("tr", {}, ["class", "train", "test", "samples"].map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, d.class_names.map((cls, i) =>
              h("tr", {},
                h("td", {}, cls),
                h("td", {}, d.class_counts.train[i]),
                h("td", {}, d.class_counts.test[i]),
                h("td", {}, (d.samples?.[cls] || []).map((png) =>
                  h("img", { src: `data:image/png;base64,${png}`, width: "32", height: "32", alt: `a ${cls} image`, class: "sample" })))))))
        : null,
    );
    if (d.status === "processing") timers.push(setTimeout(load, POLL_MS));
  }
  await load();
  return { destroy: () => timers.forEach(clearTimeout) };
}
