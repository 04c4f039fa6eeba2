"""data_hash / model_path / ensure_model cache logic, on temporary trees (Rasa is never run)."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.training import model_cache
from bot.training.model_cache import data_hash, ensure_model, model_path


def make_project(root: Path) -> Path:
    (root / "nlu_data" / "nlu").mkdir(parents=True)
    (root / "nlu_data" / "nlu" / "greet.yml").write_text("nlu:\n- intent: greet\n", encoding="utf-8")
    (root / "nlu_data" / "stories.yml").write_text("stories: []\n", encoding="utf-8")
    (root / "domain.yml").write_text("version: '3.1'\nintents: [greet]\n", encoding="utf-8")
    (root / "config.yml").write_text("language: zh\n", encoding="utf-8")
    (root / "bot" / "nlu").mkdir(parents=True)
    (root / "bot" / "nlu" / "t2s.py").write_text("X = 1\n", encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


def test_hash_is_12_hex_and_stable(project: Path) -> None:
    first = data_hash(project)
    assert len(first) == 12
    int(first, 16)
    assert data_hash(project) == first


def test_hash_is_independent_of_location_and_creation_order(tmp_path: Path) -> None:
    a = make_project(tmp_path / "a")
    b = tmp_path / "b"
    # Same files created in a different order.
    (b / "bot" / "nlu").mkdir(parents=True)
    (b / "bot" / "nlu" / "t2s.py").write_text("X = 1\n", encoding="utf-8")
    (b / "config.yml").write_text("language: zh\n", encoding="utf-8")
    (b / "domain.yml").write_text("version: '3.1'\nintents: [greet]\n", encoding="utf-8")
    (b / "nlu_data" / "nlu").mkdir(parents=True)
    (b / "nlu_data" / "stories.yml").write_text("stories: []\n", encoding="utf-8")
    (b / "nlu_data" / "nlu" / "greet.yml").write_text("nlu:\n- intent: greet\n", encoding="utf-8")
    assert data_hash(a) == data_hash(b)


@pytest.mark.parametrize(
    "relpath",
    ["nlu_data/nlu/greet.yml", "nlu_data/stories.yml", "domain.yml", "config.yml", "bot/nlu/t2s.py"],
)
def test_hash_changes_when_an_input_changes(project: Path, relpath: str) -> None:
    before = data_hash(project)
    with open(project / relpath, "a", encoding="utf-8") as handle:
        handle.write("# 改动\n")
    assert data_hash(project) != before


def test_hash_changes_when_a_file_is_added_renamed_or_removed(project: Path) -> None:
    base = data_hash(project)
    extra = project / "nlu_data" / "lookup" / "regions.txt"
    extra.parent.mkdir()
    extra.write_text("北京\n", encoding="utf-8")
    added = data_hash(project)
    assert added != base
    extra.rename(extra.with_name("cities.txt"))
    renamed = data_hash(project)
    assert renamed not in (base, added)
    extra.with_name("cities.txt").unlink()
    assert data_hash(project) == base


def test_content_moved_between_files_changes_hash(project: Path) -> None:
    a = project / "nlu_data" / "a.yml"
    b = project / "nlu_data" / "b.yml"
    a.write_text("ab", encoding="utf-8")
    b.write_text("c", encoding="utf-8")
    first = data_hash(project)
    a.write_text("a", encoding="utf-8")
    b.write_text("bc", encoding="utf-8")
    assert data_hash(project) != first


def test_unrelated_files_do_not_change_hash(project: Path) -> None:
    before = data_hash(project)
    (project / "README.md").write_text("docs\n", encoding="utf-8")
    (project / "bot" / "cases.py").write_text("Y = 2\n", encoding="utf-8")
    (project / "bot" / "nlu" / "notes.txt").write_text("not a component\n", encoding="utf-8")
    cache = project / "bot" / "nlu" / "__pycache__"
    cache.mkdir()
    (cache / "t2s.cpython-310.pyc").write_bytes(b"\x00")
    (project / "credentials.yml").write_text("rest:\n", encoding="utf-8")
    assert data_hash(project) == before


def test_model_path(project: Path, tmp_path: Path) -> None:
    h = data_hash(project)
    assert model_path(project, tmp_path / "m") == tmp_path / "m" / f"{h}.tar.gz"
    assert model_path(project) == project / "models" / f"{h}.tar.gz"


def test_ensure_model_returns_cached_model_without_training(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    cached = model_path(project, models)
    cached.write_bytes(b"model")

    def boom(*args: object, **kwargs: object) -> Path:
        raise AssertionError("must not train")

    monkeypatch.setattr(model_cache, "train", boom)
    assert ensure_model(project, models) == cached


def test_ensure_model_trains_once_under_concurrency(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    calls: list[str] = []

    def fake_train(root: Path, models_dir: Path, name: str) -> Path:
        calls.append(name)
        target = models_dir / f"{name}.tar.gz"
        target.write_bytes(b"model")
        return target

    monkeypatch.setattr(model_cache, "train", fake_train)
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_model(project, models))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [data_hash(project)]
    assert results == [model_path(project, models)] * 4


def test_force_retrains(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models"
    models.mkdir()
    model_path(project, models).write_bytes(b"old")
    calls: list[str] = []

    def fake_train(root: Path, models_dir: Path, name: str) -> Path:
        calls.append(name)
        target = models_dir / f"{name}.tar.gz"
        target.write_bytes(b"new")
        return target

    monkeypatch.setattr(model_cache, "train", fake_train)
    assert ensure_model(project, models, force=True).read_bytes() == b"new"
    assert len(calls) == 1


def test_cli_hash(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert model_cache.main(["--root", str(project), "--hash"]) == 0
    assert capsys.readouterr().out.strip() == data_hash(project)


# ---- another configuration (the load benchmark's stock baseline) and the timing sidecar ----------


def test_another_config_has_its_own_hash(project: Path) -> None:
    (project / "stock.yml").write_text("language: zh\npipeline: []\n", encoding="utf-8")
    stock = data_hash(project, "stock.yml")
    assert stock != data_hash(project)
    (project / "config.yml").write_text("language: zh\n# changed\n", encoding="utf-8")
    (project / "bot" / "nlu" / "t2s.py").write_text("X = 2\n", encoding="utf-8")
    assert data_hash(project, "stock.yml") == stock  # neither config.yml nor unused components count
    (project / "domain.yml").write_text("version: '3.1'\nintents: [greet, bye]\n", encoding="utf-8")
    assert data_hash(project, "stock.yml") != stock
    (project / "stock.yml").write_text("pipeline:\n- name: bot.nlu.t2s.X\n", encoding="utf-8")
    named = data_hash(project, "stock.yml")
    (project / "bot" / "nlu" / "t2s.py").write_text("X = 3\n", encoding="utf-8")
    assert data_hash(project, "stock.yml") != named  # components it names do count


def test_ensure_model_for_another_config_uses_its_prefix_and_config(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "stock.yml").write_text("language: zh\n", encoding="utf-8")
    calls: list[tuple[str, str]] = []

    def fake_train(root: Path, models_dir: Path, name: str, config: str = "config.yml") -> Path:
        calls.append((name, config))
        target = models_dir / f"{name}.tar.gz"
        models_dir.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"model")
        return target

    monkeypatch.setattr(model_cache, "train", fake_train)
    models = tmp_path / "models"
    path = ensure_model(project, models, config="stock.yml", prefix="stock-")
    assert path.name == f"stock-{data_hash(project, 'stock.yml')}.tar.gz"
    assert calls == [(path.name.removesuffix(".tar.gz"), "stock.yml")]
    assert (models / ".train-stock.lock").exists()


def test_training_seconds_from_the_sidecar(tmp_path: Path) -> None:
    model = tmp_path / "abc.tar.gz"
    model.write_bytes(b"model")
    assert model_cache.training_seconds(model) is None
    model_cache.meta_path(model).write_text('{"train_seconds": 61.5, "cold": true}', encoding="utf-8")
    assert model_cache.meta_path(model).name == "abc.train.json"
    assert model_cache.training_seconds(model) == 61.5
    assert model_cache.read_meta(model)["cold"] is True


def test_print_path_serves_the_model_an_admin_made_live(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    own = model_path(project, models)
    own.write_bytes(b"model of this data")
    older = models / "older.tar.gz"
    older.write_bytes(b"rolled back to")
    monkeypatch.setattr(model_cache, "train", lambda *a, **k: pytest.fail("must not train"))
    model_cache.write_live_pointer(project, models, older, by="admin")
    assert model_cache.main(["--print-path", "--root", str(project), "--models-dir", str(models)]) == 0
    assert capsys.readouterr().out.strip() == str(older)
    older.unlink()  # the chosen file is gone: fall back to the data's own model
    assert model_cache.main(["--print-path", "--root", str(project), "--models-dir", str(models)]) == 0
    assert capsys.readouterr().out.strip() == str(own)
