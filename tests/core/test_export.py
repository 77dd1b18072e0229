"""safetensors and ONNX exports: same tensors and names, the same function under onnxruntime."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from core.trainer.export import (
    MAX_ABS_LOGIT_DIFF,
    ONNX_OPSET,
    allowed_logit_diff,
    check_onnx,
    cpu_copy,
    onnx_bytes,
    safetensors_bytes,
    torch_logits,
)
from core.trainer.models import build_model, set_normalization

SPEC = {"architecture": "resnet", "depth": 8, "dataset": "cifar10", "shortcut": "A"}
CLASSES = [f"class{i}" for i in range(10)]


def trained_like(architecture: str = "resnet", shortcut: str = "A") -> torch.nn.Module:
    """A network with non-trivial normalisation and batch-norm statistics, as after training."""
    torch.manual_seed(0)
    model = build_model(architecture, 8, 10, shortcut)
    set_normalization(model, torch.tensor([0.49, 0.48, 0.45]), torch.tensor([0.25, 0.24, 0.26]))
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(64, 3, 32, 32))
    return model.eval()


def images(n: int = 300) -> torch.Tensor:
    return torch.randint(
        0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)
    )


def test_safetensors_loads_into_build_model(tmp_path) -> None:
    model = trained_like()
    state = model.state_dict()
    path = tmp_path / "w.safetensors"
    path.write_bytes(safetensors_bytes(state, spec=SPEC, classes=CLASSES))
    loaded = load_file(path)
    assert set(loaded) == set(state)
    for name, tensor in state.items():
        assert torch.equal(loaded[name], tensor), name
    fresh = build_model("resnet", 8, 10)
    fresh.load_state_dict(loaded)
    fresh.eval()
    x = images(16)
    assert torch.equal(fresh(x), model(x))
    with safe_open(path, framework="pt") as handle:
        metadata = handle.metadata()
    assert json.loads(metadata["spec"]) == SPEC
    assert json.loads(metadata["classes"]) == CLASSES


@pytest.mark.parametrize(
    ("architecture", "shortcut"), [("resnet", "A"), ("resnet", "B"), ("plain", "A")]
)
def test_onnx_matches_pytorch(architecture: str, shortcut: str) -> None:
    model = cpu_copy(trained_like(architecture, shortcut))
    data = onnx_bytes(model, spec={**SPEC, "architecture": architecture}, classes=CLASSES)
    proto = onnx.load_from_string(data)
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [ONNX_OPSET]
    metadata = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(metadata["classes"]) == CLASSES
    graph_input = proto.graph.input[0]
    assert graph_input.name == "images"
    dims = graph_input.type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [3, 32, 32]
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert proto.graph.output[0].name == "logits"

    test = images()
    reference = torch_logits(model, test)
    check = check_onnx(data, reference, test)
    assert check.passed, check.message
    assert check.max_abs_logit_diff < MAX_ABS_LOGIT_DIFF and check.agreement >= 0.999
    assert check.images == 300
    session = onnxruntime.InferenceSession(data)
    one = session.run(None, {"images": test[:1].float().numpy() / 255})[0]  # batch of one
    assert one.shape == (1, 10)


def test_onnx_check_fails_for_another_network() -> None:
    model = cpu_copy(trained_like())
    data = onnx_bytes(model, spec=SPEC, classes=CLASSES)
    test = images(50)
    other = torch_logits(cpu_copy(trained_like("resnet", "B")), test)
    check = check_onnx(data, other, test)
    assert not check.passed
    assert "max |logit difference|" in check.message


def test_onnx_check_allows_float32_rounding_of_large_logits_and_nothing_more() -> None:
    # A diverged run's logits reach 1e4 (seen: a ResNet-56 after 6 epochs on 400 images, max
    # |logit| 15,392 and a difference of 0.0039, 9e-6 of it): float32 rounding, not a wrong export.
    model = trained_like()
    with torch.no_grad():
        model.fc.weight.mul_(3e3)
        model.fc.bias.mul_(3e3)
    model = cpu_copy(model)
    data = onnx_bytes(model, spec=SPEC, classes=CLASSES)
    test = images(100)
    reference = torch_logits(model, test)
    largest = float(np.abs(reference).max())
    assert largest > 1000
    check = check_onnx(data, reference, test)
    assert check.passed, check.message
    assert check.max_abs_logit_diff_allowed == pytest.approx(MAX_ABS_LOGIT_DIFF * largest / 100)
    # An error of a thousandth of the logits is far past rounding: refused.
    off = reference * np.float32(1.001)
    assert not check_onnx(data, off, test).passed


def test_allowed_logit_diff_is_the_absolute_bar_up_to_logits_of_100() -> None:
    assert allowed_logit_diff(np.array([[5.0, -99.0]])) == MAX_ABS_LOGIT_DIFF
    assert allowed_logit_diff(np.array([[5.0, -2000.0]])) == pytest.approx(20 * MAX_ABS_LOGIT_DIFF)
    assert allowed_logit_diff(np.zeros((0, 10))) == MAX_ABS_LOGIT_DIFF
    assert allowed_logit_diff(np.array([[np.inf, 1.0]])) == MAX_ABS_LOGIT_DIFF


def test_onnx_check_fails_for_a_broken_file() -> None:
    test = images(10)
    check = check_onnx(b"not an onnx model", np.zeros((10, 10), dtype=np.float32), test)
    assert not check.passed
    assert check.message.startswith("onnxruntime cannot run the export")
