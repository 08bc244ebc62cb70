"""Container-image functions: CreateFunction with PackageType Image pulls the image from a real
docker-registry on loopback, stores it in the code store, and runs it with the image's
Entrypoint, Cmd, WorkingDir and Env, as ImageConfig overrides them (docs/images.md)."""

import base64
import json

import pytest

import hearth_e2e as he
import images


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    base = tmp_path_factory.mktemp("registry")
    try:
        reg = images.start_registry(base)
    except FileNotFoundError as e:
        pytest.skip(f"needs Debian's docker-registry and skopeo: {e}")
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def pushed(registry, tmp_path_factory):
    """Two versions of the test image, pushed as fn:v1 and fn:v2 (v2 differs in one layer)."""
    out = {}
    for tag, variant in (("v1", None), ("v2", "2")):
        image = images.build_runtime_image(str(tmp_path_factory.mktemp(tag)),
                                           images.runtime_binary(), tag=tag, variant=variant)
        digest = registry.push(image.layout_dir, "fn", tag)
        out[tag] = (image, digest)
    return out


def create_image_function(create_function, registry, tag="v1", **kw):
    return create_function(runtime=None, handler=None, PackageType="Image",
                           Code={"ImageUri": registry.image_uri("fn", tag)}, **kw)


def test_image_function_runs_entrypoint_cmd_workdir_and_env(lam, create_function, invoke,
                                                           registry, pushed, hearthd):
    image, digest = pushed["v1"]
    resp = create_image_function(create_function, registry,
                                 Environment={"Variables": {"FROM_FUNCTION": "yes"}})
    name = resp["FunctionName"]
    assert resp["PackageType"] == "Image"
    assert resp["CodeSha256"] == digest.removeprefix("sha256:")
    assert resp["CodeSize"] == 0
    assert "Runtime" not in resp and "Handler" not in resp
    got = lam.get_function(FunctionName=name)
    assert got["Code"] == {"RepositoryType": "ECR", "ImageUri": registry.image_uri("fn", "v1"),
                           "ResolvedImageUri": f"{registry.host}/fn@{digest}"}

    out = invoke(name, {"hello": "image"})
    assert out["status"] == 200, out
    body = json.loads(out["payload"])
    assert body["event"] == {"hello": "image"}
    assert body["argv"] == [images.RUNTIME_PATH, "/data/extra.txt"]
    assert body["cwd"] == images.WORKING_DIR
    assert body["file"] == "extra"  # from the second layer
    env = body["env"]
    assert env["HEARTH_IMAGE_VAR"] == "from-image"
    assert env["FROM_FUNCTION"] == "yes"
    assert env["PATH"] == images.IMAGE_ENV["PATH"]  # the image's own, not Lambda's default
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name

    # The whiteout in layer 2 removed /data/base.txt from the tree the function sees.
    lam.update_function_configuration(FunctionName=name,
                                      ImageConfig={"Command": ["/data/base.txt"]})
    he.wait_updated(lam, name)
    body = json.loads(invoke(name, {})["payload"])
    assert body["argv"] == [images.RUNTIME_PATH, "/data/base.txt"]
    assert body["file"] is None and body["file_error"]

    # A function error from the image's runtime is Lambda's Unhandled shape.
    crashed = invoke(name, "crash")
    assert crashed["function_error"] == "Unhandled"
    assert json.loads(crashed["payload"])["errorMessage"] == "asked to crash"


def test_image_config_overrides_and_code_updates(lam, create_function, invoke, registry, pushed):
    _, digest_v2 = pushed["v2"]
    resp = create_image_function(
        create_function, registry,
        ImageConfig={"EntryPoint": ["runtime", "/etc/passwd"], "Command": [],
                     "WorkingDirectory": "/data"})
    name = resp["FunctionName"]
    assert resp["ImageConfigResponse"] == {"ImageConfig": {
        "EntryPoint": ["runtime", "/etc/passwd"], "Command": [], "WorkingDirectory": "/data"}}
    body = json.loads(invoke(name, {})["payload"])
    # A bare entrypoint name is found along the image's PATH.
    assert body["argv"] == [images.RUNTIME_PATH, "/etc/passwd"]
    assert body["cwd"] == "/data"
    assert body["file"] == images.PASSWD

    updated = lam.update_function_code(FunctionName=name,
                                       ImageUri=registry.image_uri("fn", "v2"))
    assert updated["CodeSha256"] == digest_v2.removeprefix("sha256:")
    he.wait_updated(lam, name)
    lam.update_function_configuration(FunctionName=name, ImageConfig={})
    he.wait_updated(lam, name)
    body = json.loads(invoke(name, {})["payload"])
    assert body["file"] == images.extra_text("2")

    # Code of the other package type is refused with Lambda's message.
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="ImageUri"):
        lam.update_function_code(FunctionName=name, ZipFile=he.make_zip({"a.py": "x"}))


def test_bad_images_are_refused_clearly(lam, create_function, registry, pushed):
    for uri, expect in ((registry.image_uri("fn", "missing-tag"), "does not exist"),
                        ("127.0.0.1:1/nothing:here", "127.0.0.1:1"),
                        ("UPPER/case:bad", "")):
        with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
            create_function(runtime=None, handler=None, PackageType="Image",
                            Code={"ImageUri": uri}, wait=False)
        assert expect in str(e.value), str(e.value)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="not supported"):
        create_image_function(create_function, registry, wait=False, Runtime="python3.11",
                              Handler="app.handler")


def test_the_same_image_is_stored_once(lam, create_function, registry, pushed, hearthd):
    first = create_image_function(create_function, registry)
    before = hearthd.code_stats()
    second = create_image_function(create_function, registry)
    assert first["CodeSha256"] == second["CodeSha256"]
    after = hearthd.code_stats()
    account = first["FunctionArn"].split(":")[4]
    assert after[account]["StoredBytes"] == before[account]["StoredBytes"]


def test_a_registry_with_basic_auth_needs_registry_config(spawn_hearthd, tmp_path):
    try:
        reg = images.start_registry(tmp_path, basic_auth=("puller", "s3cret-pw"))
    except FileNotFoundError as e:
        pytest.skip(f"needs Debian's docker-registry, skopeo and htpasswd: {e}")
    try:
        image = images.build_runtime_image(str(tmp_path / "layout"), images.runtime_binary())
        digest = reg.push(image.layout_dir, "private", image.tag)
        uri = reg.image_uri("private", image.tag)
        params = dict(Role=he.ROLE, PackageType="Image", Code={"ImageUri": uri})

        # Without credentials the pull is refused, clearly.
        anonymous = spawn_hearthd()
        lam = he.lambda_client(anonymous.endpoint, anonymous.access_key, anonymous.secret_key)
        with pytest.raises(lam.exceptions.InvalidParameterValueException):
            lam.create_function(FunctionName="private-anon", **params)

        # hearthd --registry-config names a Docker config.json holding them.
        config = tmp_path / "docker-config.json"
        config.write_text(json.dumps({"auths": {reg.host: {
            "auth": base64.b64encode(b"puller:s3cret-pw").decode()}}}))
        server = spawn_hearthd(extra_args=("--registry-config", str(config)))
        lam = he.lambda_client(server.endpoint, server.access_key, server.secret_key)
        resp = lam.create_function(FunctionName="private-ok", **params)
        assert resp["CodeSha256"] == digest.removeprefix("sha256:")
        he.wait_active(lam, "private-ok")
        out = he.invoke_result(lam.invoke(FunctionName="private-ok", Payload=b"{}"))
        assert json.loads(out["payload"])["file"] == "extra"
    finally:
        reg.stop()
