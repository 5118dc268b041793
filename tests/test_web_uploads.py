"""Uploads to the browser page as layers: GeoTIFFs as they are, zips unpacked only inside their own folder."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from engine.synthetic import SyntheticSpec, write_scene
from engine.web.uploads import UploadError, layer_specs


def _zip(path: Path, members: dict[str, bytes | Path]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            if isinstance(content, Path):
                archive.write(content, name)
            else:
                archive.writestr(name, content)
    return path


@pytest.mark.parametrize("evil", ["../escaped.tif", "a/../../escaped.tif", "/tmp/absolute_escaped.tif"])
def test_a_zip_member_that_would_land_outside_is_refused_and_nothing_is_written(tmp_path: Path, evil: str) -> None:
    uploads = tmp_path / "uploads" / "abc"
    uploads.mkdir(parents=True)
    archive = _zip(uploads / "product.zip", {"fine.tif": b"x", evil: b"evil"})
    with pytest.raises(UploadError, match="would land outside"):
        layer_specs([str(archive)])
    assert not list(tmp_path.rglob("escaped.tif")) and not Path("/tmp/absolute_escaped.tif").exists()
    assert not (uploads / "product").exists()


def test_a_zipped_pair_is_two_layers_and_other_files_are_refused(tmp_path: Path) -> None:
    scene = write_scene(SyntheticSpec(width=64, height=64, patch_px=16), tmp_path / "scene")
    archive = _zip(tmp_path / "pair.zip", {p.name: p for p in scene.layers})
    specs = layer_specs([str(archive)])
    assert sorted(s.path.name for s in specs) == sorted(p.name for p in scene.layers)
    assert all(s.path.is_relative_to(tmp_path / "pair") for s in specs)  # unpacked beside the upload
    assert len(layer_specs([str(archive)])) == 2  # a second ask reuses what was unpacked
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UploadError, match="upload GeoTIFF"):
        layer_specs([str(tmp_path / "notes.txt")])
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(UploadError, match="not a zip file"):
        layer_specs([str(tmp_path / "broken.zip")])


def test_a_zip_unpacking_to_more_than_four_times_the_upload_limit_is_refused(tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb/layer.tif", b"\0" * (5 * 2**20))  # 5 MB of zeros: a few kB zipped
    assert archive.stat().st_size < 2**20
    with pytest.raises(UploadError, match="unpacks to more than 4 MB"):
        layer_specs([str(archive)], max_upload_bytes=2**20)
    assert not (tmp_path / "bomb").exists()
