import pytest

from adverse_events import ConfigError, Pipeline, load_config
from adverse_events.config import accepted_options, parse_config

GOOD = """
[source]
type = "jsonl"
path = "{posts}"

[classifier]
type = "keyword"
keywords = ["headache"]

[sink]
type = "duckdb"
path = "{db}"

[dead_letter]
type = "jsonl"
path = "{letters}"

[pipeline]
batch_size = 8
resume = true
"""


@pytest.fixture
def posts(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text('{"post_id": "1", "text": "a headache"}\n{"post_id": "2", "text": "fine"}\n')
    return path


def write(tmp_path, text):
    path = tmp_path / "pipeline.toml"
    path.write_text(text)
    return path


def good(tmp_path, posts):
    return GOOD.format(posts=posts, db=tmp_path / "ae.duckdb", letters=tmp_path / "dl.jsonl")


def test_builds_a_pipeline(tmp_path, posts, keyword_registry):
    pipeline = load_config(write(tmp_path, good(tmp_path, posts))).build()
    assert isinstance(pipeline, Pipeline)
    assert pipeline.batch_size == 8 and pipeline.resume
    assert pipeline.dead_letter.name == "jsonl" and pipeline.sink.name == "duckdb"
    report = pipeline.run()
    assert report.written == 2 and report.adverse_events == 1


def test_build_runner_follows_the_engine_table(tmp_path, posts, keyword_registry):
    cfg = load_config(write(tmp_path, good(tmp_path, posts)))
    assert isinstance(cfg.build_runner(), Pipeline)
    ray = cfg.model_copy(update={"engine": cfg.engine.model_copy(update={"type": "ray"})})
    with pytest.raises(ConfigError, match='use type = "s3"'):  # checked before Ray starts
        ray.build_runner()


@pytest.mark.parametrize(
    "change, message",
    [
        (("[pipeline]", "[pipelines]"), "unknown table(s) ['pipelines']"),
        (('type = "duckdb"', 'type = "duckdbb"'), "unknown sink 'duckdbb'; valid sinks: duckdb"),
        (
            ('keywords = ["headache"]', 'keyword = ["headache"]'),
            "unknown option(s) ['keyword'] for classifier 'keyword'; valid options: ['keywords'",
        ),
        (("batch_size = 8", "batch_size = 0"), "[pipeline] batch_size"),
        (("batch_size = 8", "batch_size = true"), "[pipeline] batch_size: Input should be a valid"),
        (("batch_size = 8", 'batch_size = "10"'), "[pipeline] batch_size: Input should be a valid"),
        (("resume = true", "resume = 1"), "[pipeline] resume: Input should be a valid boolean"),
        (("batch_size = 8", "batchsize = 8"), "valid keys: ['backoff_initial'"),
        (('type = "jsonl"\npath', "path"), "[source] needs a 'type' key"),
    ],
)
def test_errors_name_the_key_and_the_fix(tmp_path, posts, keyword_registry, change, message):
    text = good(tmp_path, posts).replace(*change, 1)
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text)).build()
    assert message in str(info.value)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[source\n"))


def test_missing_required_table():
    with pytest.raises(ConfigError, match=r"missing \[classifier\]"):
        parse_config({"source": {"type": "jsonl"}, "sink": {"type": "memory"}})


def test_backend_validation_errors_become_config_errors(tmp_path, posts, keyword_registry):
    text = good(tmp_path, posts).replace(str(posts), str(tmp_path / "missing.jsonl"))
    with pytest.raises(ConfigError, match=r"\[source\] jsonl source: no such file"):
        load_config(write(tmp_path, text)).build()


def test_environment_variables(tmp_path, posts, keyword_registry, monkeypatch):
    text = good(tmp_path, posts).replace(str(posts), "${POSTS_FILE}")
    with pytest.raises(ConfigError, match="POSTS_FILE is not set"):
        load_config(write(tmp_path, text))
    monkeypatch.setenv("POSTS_FILE", str(posts))
    assert load_config(write(tmp_path, text)).source.options["path"] == str(posts)


def test_accepted_options_follow_kwargs_up_the_mro():
    from adverse_events.sources import CsvSource

    names, open_ended = accepted_options(CsvSource)
    assert {"delimiter", "path", "text_field", "time_format"} <= set(names) and not open_ended


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: "pipeline = 5\n" + t.split("[pipeline]")[0], "[pipeline] must be a table"),
        (
            lambda t: t.replace('type = "duckdb"', "type = 5"),
            "[sink] type must be a backend name (text), got 5",
        ),
        (
            lambda t: t.replace('type = "duckdb"\npath = "{db}"', 'type = "dynamodb"\ntable = 5'),
            "[sink] sink 'dynamodb': ",
        ),
    ],
)
def test_wrongly_typed_tables_and_options_are_config_errors(
    tmp_path, posts, keyword_registry, edit, message
):
    text = edit(GOOD).format(posts=posts, db=tmp_path / "ae.duckdb", letters=tmp_path / "dl")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text)).build()
    assert message in str(info.value)


def test_unreadable_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path)  # a directory
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[source]\n")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(binary)


SECRET_CONFIG = """
[source]
type = "twitter"
mode = "search"
bearer_token = "${X_BEARER_TOKEN}"
pseudonym_key = "literal-pseudonym-key-42"
[source.client]
api_key = "nested-api-key-77"
[classifier]
type = "tfidf"
[sink]
type = "jsonl"
path = "${OUT_DIR}/records.jsonl"
"""


def test_repr_and_dumps_of_a_config_never_show_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", "expanded-bearer-token-99")
    monkeypatch.setenv("OUT_DIR", str(tmp_path / "private-dir"))
    path = tmp_path / "secret.toml"
    path.write_text(SECRET_CONFIG)
    config = load_config(path)
    assert config.source.options["bearer_token"] == "expanded-bearer-token-99"  # backends get it
    assert config.source.options["pseudonym_key"] == "literal-pseudonym-key-42"
    for shown in (
        repr(config),
        str(config),
        repr(config.source),
        str(config.model_dump()),
        config.model_dump_json(),
        config.source.model_dump_json(),
    ):
        for secret in (
            "expanded-bearer-token-99",
            "literal-pseudonym-key-42",
            "nested-api-key-77",
            "private-dir",
        ):
            assert secret not in shown
    assert "${OUT_DIR}/records.jsonl" in repr(config)
    assert config.source.display_options()["bearer_token"] == "<redacted>"
