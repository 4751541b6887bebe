"""Fixtures for the NLU components' unit tests: Rasa's own tokenizer and count featurizers, trained in place."""
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.tokenizer import MaskingWhitespaceTokenizer


def storage_in(path):
    path.mkdir(parents=True)
    return LocalModelStorage(path)


@pytest.fixture
def featurizers(tmp_path):
    storage = storage_in(tmp_path / "featurizers")
    tokenizer = MaskingWhitespaceTokenizer(MaskingWhitespaceTokenizer.get_default_config())
    words = CountVectorsFeaturizer.create(
        CountVectorsFeaturizer.get_default_config(), storage, Resource("words"),
        ExecutionContext(GraphSchema({}), node_name="words"))
    chars = CountVectorsFeaturizer.create(
        {**CountVectorsFeaturizer.get_default_config(), "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
        storage, Resource("chars"), ExecutionContext(GraphSchema({}), node_name="chars"))

    def featurize(messages, train=False):
        tokenizer.process(messages)
        for featurizer in (words, chars):
            if train:
                featurizer.train(TrainingData(messages))
            featurizer.process(messages)
        return messages

    return featurize


@pytest.fixture
def lookup_redis(redis_url, monkeypatch):
    """The tests' own Redis for the order actions (through get_settings, as in the action server), with no failed
    lookups counted yet; never a running bot's Redis."""
    import redis

    from bot import redis_keys
    from bot.settings import ENV_REDIS_URL, get_settings

    monkeypatch.setenv(ENV_REDIS_URL, redis_url)
    get_settings.cache_clear()
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=redis_keys.LOOKUP_FAILURES.format(kind="*", value="*")):
        client.delete(key)
    yield client
    client.close()
    get_settings.cache_clear()
