"""POST /jobs/{id}/predict: top-k classes from the job's ONNX export, every bad input a 4xx
naming the part at fault."""

from __future__ import annotations

import io
import uuid

import numpy as np
import pytest
from PIL import Image

from core.settings import Settings
from tests.api.conftest import Api, client_for, make_settings, new_key
from tests.api.exported import exports, succeed_with_exports, torch_top

RNG = np.random.default_rng(0)


def image_file(array: np.ndarray, format_: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=format_, **options)
    return buffer.getvalue()


def pixels(n: int, side: int = 32) -> np.ndarray:
    return RNG.integers(0, 256, size=(n, side, side, 3), dtype=np.uint8)


def files(*blobs: bytes, name: str = "images") -> list[tuple[str, tuple[str, bytes, str]]]:
    return [
        (name, (f"img{i}.bin", blob, "application/octet-stream")) for i, blob in enumerate(blobs)
    ]


@pytest.fixture
def job(api: Api) -> uuid.UUID:
    job_id = api.new_job()
    succeed_with_exports(api.database_url, job_id)
    return job_id


def assert_matches_torch(answer: dict, images: np.ndarray, k: int) -> None:
    expected = torch_top(exports().model, images, k)
    assert len(answer["predictions"]) == len(expected)
    for got, want in zip(answer["predictions"], expected, strict=True):
        assert [c["label"] for c in got["top"]] == [name for name, _ in want]
        assert [c["probability"] for c in got["top"]] == pytest.approx(
            [p for _, p in want], abs=1e-4
        )


def test_predict_png_files_match_pytorch(api: Api, job: uuid.UUID) -> None:
    images = pixels(3)
    answer = api.post(
        f"/jobs/{job}/predict", files=files(*(image_file(a) for a in images)), params={"k": 3}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["k"] == 3 and body["job_id"] == str(job)
    assert body["predictions"][1]["image"] == "images.1 (img1.bin)"
    top = body["predictions"][0]["top"]
    assert len(top) == 3 and top[0]["probability"] >= top[1]["probability"] >= top[2]["probability"]
    assert_matches_torch(body, images, 3)


def test_predict_json_arrays_match_pytorch(api: Api, job: uuid.UUID) -> None:
    images = pixels(4)
    answer = api.post(f"/jobs/{job}/predict", json={"images": images.tolist()})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["k"] == 5
    assert [p["image"] for p in body["predictions"]] == [f"images.{i}" for i in range(4)]
    assert_matches_torch(body, images, 5)


def test_predict_resizes_large_jpeg_and_webp_with_pillow(api: Api, job: uuid.UUID) -> None:
    big = np.kron(pixels(1, side=8)[0], np.ones((50, 50, 1), dtype=np.uint8))  # 400 x 400
    blobs = [image_file(big, "JPEG", quality=95), image_file(big, "WEBP", lossless=True)]
    answer = api.post(f"/jobs/{job}/predict", files=files(*blobs))
    assert answer.status_code == 200, answer.text
    # The documented way: Pillow (a JPEG in draft mode), RGB, bilinear (antialiased) resize of
    # the whole image.
    expected = []
    for blob in blobs:
        with Image.open(io.BytesIO(blob)) as opened:
            if opened.format == "JPEG":
                opened.draft("RGB", (128, 128))
            resized = opened.convert("RGB").resize((32, 32), Image.Resampling.BILINEAR)
        expected.append(np.asarray(resized))
    assert_matches_torch(answer.json(), np.stack(expected), 5)


def test_predict_refuses_a_file_that_is_not_an_image(api: Api, job: uuid.UUID) -> None:
    answer = api.post(
        f"/jobs/{job}/predict", files=files(image_file(pixels(1)[0]), b"hello, not an image")
    )
    assert answer.status_code == 422
    (field,) = answer.json()["error"]["fields"]
    assert field["field"] == "images.1"
    assert "not an image" in field["reason"]


def test_predict_refuses_a_truncated_png(api: Api, job: uuid.UUID) -> None:
    whole = image_file(pixels(1, side=64)[0])
    answer = api.post(f"/jobs/{job}/predict", files=files(whole[: len(whole) // 2]))
    assert answer.status_code == 422
    (field,) = answer.json()["error"]["fields"]
    assert field["field"] == "images.0" and "truncated" in field["reason"]


def test_predict_refuses_a_decompression_bomb_before_decoding(api: Api, job: uuid.UUID) -> None:
    buffer = io.BytesIO()
    Image.new("1", (5000, 5000)).save(buffer, format="PNG")  # 25 M pixels in a few kB
    assert len(buffer.getvalue()) < 100_000
    answer = api.post(f"/jobs/{job}/predict", files=files(buffer.getvalue()))
    assert answer.status_code == 422
    (field,) = answer.json()["error"]["fields"]
    assert field["field"] == "images.0"
    assert "5000 x 5000 = 25000000 pixels" in field["reason"]
    assert "before decoding" in field["reason"]


def test_predict_refuses_other_image_formats(api: Api, job: uuid.UUID) -> None:
    answer = api.post(f"/jobs/{job}/predict", files=files(image_file(pixels(1)[0], "GIF")))
    assert answer.status_code == 422
    assert "GIF images are not accepted" in answer.json()["error"]["fields"][0]["reason"]


def test_predict_refuses_wrong_array_shapes_and_values(api: Api, job: uuid.UUID) -> None:
    good = pixels(1)[0].tolist()
    cases = [
        ({"images": [good, pixels(1, side=31)[0].tolist()]}, "images.1", "got 31 x 31 x 3"),
        ({"images": [[[[1, 2, 3]]] * 32]}, "images.0", "got 32 x 1 x 3"),
        ({"images": [good, [[1, 2]]]}, "images.1", "must be 32 x 32 x 3"),
        ({"images": [(np.array(good) + 200).tolist()]}, "images.0", "[0, 255]"),
        ({"images": [(np.array(good) / 2).tolist()]}, "images.0", "integers"),
        ({"images": []}, "images", "non-empty"),
        ({"pictures": [good]}, "body", '{"images": [...]}'),
    ]
    for body, name, reason in cases:
        answer = api.post(f"/jobs/{job}/predict", json=body)
        assert answer.status_code == 422, (name, answer.text)
        (field,) = answer.json()["error"]["fields"]
        assert field["field"] == name and reason in field["reason"], (field, reason)


def test_predict_refuses_k_over_the_classes(api: Api, job: uuid.UUID) -> None:
    answer = api.post(f"/jobs/{job}/predict", json={"images": pixels(1).tolist()}, params={"k": 11})
    assert answer.status_code == 422
    assert answer.json()["error"]["fields"] == [
        {"field": "k", "in": "query", "reason": "at most 10, this job's number of classes"}
    ]


def test_predict_refuses_another_content_type(api: Api, job: uuid.UUID) -> None:
    answer = api.post(f"/jobs/{job}/predict", content=b"x", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415
    assert answer.json()["error"]["fields"][0]["field"] == "Content-Type"


def test_predict_before_success_is_409_and_unknown_job_404(api: Api) -> None:
    job_id = api.new_job()
    answer = api.post(f"/jobs/{job_id}/predict", json={"images": pixels(1).tolist()})
    assert answer.status_code == 409
    assert answer.json()["error"]["message"] == (
        "job is queued; predictions are available once it has succeeded"
    )
    unknown = api.post(f"/jobs/{uuid.uuid4()}/predict", json={"images": pixels(1).tolist()})
    assert unknown.status_code == 404


def test_predict_after_a_failed_export_says_why(api: Api) -> None:
    from core.store.artifacts import ONNX, ArtifactFile

    job_id = api.new_job()
    message = "the ONNX export failed its check against PyTorch: max |logit difference| 0.2"
    succeed_with_exports(
        api.database_url, job_id, replace={ONNX: ArtifactFile(b"", info={"message": message})}
    )
    answer = api.post(f"/jobs/{job_id}/predict", json={"images": pixels(1).tolist()})
    assert answer.status_code == 409
    assert message in answer.json()["error"]["message"]


def test_predict_limits_images_and_body(settings: Settings, tmp_path) -> None:
    limited = make_settings(
        settings.database_url, tmp_path, predict_max_images=3, predict_max_body_bytes=20_000
    )
    with client_for(limited) as client:
        api = Api(client, limited.database_url, new_key(limited.database_url))
        job_id = api.new_job()
        succeed_with_exports(api.database_url, job_id)
        small = [image_file(a) for a in pixels(5, side=8)]
        for blobs in (small[:4], small[:5]):  # one over the limit, and past the parser's bound
            answer = api.post(f"/jobs/{job_id}/predict", files=files(*blobs))
            assert answer.status_code == 422, answer.text
            (field,) = answer.json()["error"]["fields"]
            assert field["field"] == "images" and "at most 3" in field["reason"]
        answer = api.post(f"/jobs/{job_id}/predict", json={"images": pixels(4, side=8).tolist()})
        assert answer.status_code == 422
        answer = api.post(f"/jobs/{job_id}/predict", json={"images": pixels(3).tolist()})
        assert answer.status_code == 413  # about 37 kB of pixels as JSON text: over 20 kB
        answer = api.post(f"/jobs/{job_id}/predict", files=files(*small[:3]))
        assert answer.status_code == 200


def test_model_cache_drops_least_recently_used_by_bytes() -> None:
    from api.prediction.onnx_models import ModelCache

    data = exports().files["weights.onnx"].data
    cache = ModelCache(max_bytes=2 * len(data) + 10)
    ids = [uuid.uuid4() for _ in range(3)]
    for job_id in ids[:2]:
        cache.load(job_id, data, ["a"] * 10, "sha")
    assert cache.get_file(ids[0], "sha") is not None  # now the most recently used
    cache.load(ids[2], data, ["a"] * 10, "sha")
    assert len(cache) == 2 and cache.size == 2 * len(data)
    assert cache.get_file(ids[1], "sha") is None
    assert cache.get_file(ids[0], "sha") is not None and cache.get_file(ids[2], "sha") is not None
    tiny = ModelCache(max_bytes=10)
    assert tiny.load(ids[0], data, ["a"] * 10, "sha") is not None and len(tiny) == 0
