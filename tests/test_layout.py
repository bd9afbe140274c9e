"""layout: the one parser of overlays/<env>/<model> paths, and the overlay directory listing."""

from __future__ import annotations

import os

from mlgitops import layout
from mlgitops.layout import OverlayPath


def test_parse_and_format_overlay_paths():
    assert layout.overlay_dir("prod", "iris") == "overlays/prod/iris"
    assert layout.parse_overlay("overlays/prod/iris") == OverlayPath("prod", "iris", "")
    assert layout.parse_overlay("overlays/prod/iris/rollout.yaml") == OverlayPath("prod", "iris", "rollout.yaml")
    assert layout.parse_overlay("overlays/prod/iris/sub/x.yaml") == OverlayPath("prod", "iris", "sub/x.yaml")
    for other in ("overlays", "overlays/prod", "base/components/common", "argocd/root.yaml", "models/iris.yaml",
                  "overlays//iris", "overlays/prod/", "xoverlays/prod/iris"):
        assert layout.parse_overlay(other) is None, other
    assert layout.parse_overlay(layout.overlay_dir("staging", "fraud")) == ("staging", "fraud", "", "")


def test_cluster_overlay_paths_round_trip():
    assert layout.overlay_dir("prod", "iris", "prod-eu") == "overlays/prod@prod-eu/iris"
    found = layout.parse_overlay("overlays/prod@prod-eu/iris/model.yaml")
    assert found == OverlayPath("prod", "iris", "model.yaml", "prod-eu")
    assert found.directory == "overlays/prod@prod-eu/iris"
    assert layout.parse_overlay("overlays/prod/iris").directory == "overlays/prod/iris"
    assert layout.env_of("overlays/prod@prod-eu/iris/model.yaml") == "prod"
    assert layout.selection(("iris",), ("prod",))("overlays/prod@prod-eu/iris/model.yaml")
    assert not layout.selection(("iris",), ("staging",))("overlays/prod@prod-eu/iris/model.yaml")
    assert layout.mentions(["iris"]).search("resources: [../../overlays/prod@prod-eu/iris]")


def test_files_inside_an_overlay_and_their_environment():
    assert layout.overlay_of_file("overlays/prod/iris/hpa.yaml") == ("prod", "iris", "hpa.yaml", "")
    assert layout.overlay_of_file("overlays/prod/iris") is None  # a file directly under overlays/prod/
    assert layout.overlay_of_file("base/kustomization.yaml") is None
    assert layout.env_of("overlays/prod/iris/hpa.yaml") == "prod"
    assert layout.env_of("overlays/prod/notes.yaml") == "prod"
    assert layout.env_of("argocd/root.yaml") is None and layout.env_of("overlays") is None


def test_selection_by_model_and_environment():
    everything = layout.selection()
    only = layout.selection(("iris",), ("prod",))
    assert everything("overlays/staging/churn/x.yaml") and everything("base/x.yaml")
    assert only("overlays/prod/iris/x.yaml")
    assert not only("overlays/staging/iris/x.yaml") and not only("overlays/prod/churn/x.yaml")
    assert only("base/x.yaml") and only("argocd/root.yaml") and only("overlays/prod/x.yaml")


def test_mentions_finds_overlay_paths_of_the_named_models_only():
    pattern = layout.mentions(["iris"])
    assert pattern.search("file: ../../overlays/prod/iris\n")
    assert pattern.search("overlay: overlays/staging/iris/rollout.yaml")
    assert not pattern.search("overlays/prod/iris-v2") and not pattern.search("overlays/prod/churn")


def test_overlay_dirs_lists_sorted_directories_and_asks_before_entering(tmp_path):
    for rel in ("overlays/staging/iris", "overlays/prod/iris", "overlays/prod/churn",
                "overlays/prod/.iris.mlgitops-new", "overlays/.hidden/iris", "overlays/prod@prod-eu/iris"):
        (tmp_path / rel).mkdir(parents=True)
    (tmp_path / "overlays/prod/notes.yaml").write_text("")
    found = layout.overlay_dirs(str(tmp_path))
    assert found == [("prod", "churn", "", ""), ("prod", "iris", "", ""), ("prod", "iris", "", "prod-eu"),
                     ("staging", "iris", "", "")]
    asked = []

    def enter(path):
        asked.append(os.path.relpath(path, tmp_path))
        return not path.endswith("staging")

    assert layout.overlay_dirs(str(tmp_path), enter) == [("prod", "churn", "", ""), ("prod", "iris", "", ""),
                                                         ("prod", "iris", "", "prod-eu")]
    assert asked[:2] == ["overlays", "overlays/prod"] and "overlays/staging" in asked
    assert layout.overlay_dirs(str(tmp_path / "nowhere")) == []
