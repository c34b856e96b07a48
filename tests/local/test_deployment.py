"""What `make retrain` deployed: recorded atomically, served by the next `make local` while the
dataset is the same, discarded when it changed or everything is rebuilt."""

from __future__ import annotations

from local import build, deployment
from local.deployment import Deployment
from local.stack import Stack
from local.up import starting_point


def _setup(tmp_path):
    stack = Stack(str(tmp_path / "stack"))
    data = tmp_path / "data"
    data.mkdir()
    (data / "users.parquet").write_text("users")
    retrained, lists = tmp_path / "models" / "m2", tmp_path / "batch" / "local-2"
    retrained.mkdir(parents=True)
    lists.mkdir(parents=True)
    (lists / "manifest.json").write_text("{}")
    return stack, data, retrained, lists


def test_nothing_deployed_reads_as_none(tmp_path):
    stack = Stack(str(tmp_path))
    assert deployment.read(stack) is None
    stack.deploy_file.write_text("not json")
    assert deployment.read(stack) is None


def test_a_deployment_whose_model_is_gone_reads_as_none(tmp_path):
    stack, _, retrained, _ = _setup(tmp_path)
    deployment.write(stack, Deployment(str(retrained), "fp"))
    assert deployment.read(stack) == Deployment(str(retrained), "fp")
    retrained.rmdir()
    assert deployment.read(stack) is None


def test_the_next_start_serves_the_retrained_model_and_lists(tmp_path):
    stack, data, retrained, lists = _setup(tmp_path)
    built_model, built_lists = tmp_path / "model", tmp_path / "batch" / "local-1"
    fingerprint = build.dataset_fingerprint(data)
    deployment.write(stack, Deployment(str(retrained), fingerprint, str(lists)))
    assert starting_point(stack, data, built_model, built_lists, False) == (retrained, lists)
    # deployed, but its lists not switched yet: the built lists
    deployment.write(stack, Deployment(str(retrained), fingerprint, None))
    assert starting_point(stack, data, built_model, built_lists, False) == (retrained, built_lists)


def test_a_deployment_of_another_dataset_or_a_rebuild_is_discarded(tmp_path):
    stack, data, retrained, lists = _setup(tmp_path)
    built = (tmp_path / "model", tmp_path / "batch" / "local-1")
    deployment.write(stack, Deployment(str(retrained), "another dataset", str(lists)))
    assert starting_point(stack, data, *built, False) == built
    assert not stack.deploy_file.exists()
    deployment.write(stack, Deployment(str(retrained), build.dataset_fingerprint(data), None))
    assert starting_point(stack, data, *built, True) == built
    assert not stack.deploy_file.exists()
