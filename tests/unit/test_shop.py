import pytest

from bot import shop


def test_domain_answers_are_rendered_from_the_current_facts():
    # domain/answers.yml is generated: a shop owner's edit to shop/facts.yml must be rendered (make domain)
    assert shop.ANSWERS_DOMAIN_FILE.read_text(encoding="utf-8") == shop.render_answers()


def test_every_placeholder_is_filled():
    """Facts are filled in; what stays in braces was written {{so}}: a value the bot fills at run time.
    (Button payloads are kept as written: an intent with its entities in JSON.)"""
    import re

    import yaml

    responses = yaml.safe_load(shop.render_answers())["responses"].values()
    body = "\n".join(r[0]["text"] + "".join(b["title"] for b in r[0].get("buttons", [])) for r in responses)
    escaped = set(re.findall(r"\{\{(\w+)\}\}", shop.FACTS_FILE.read_text(encoding="utf-8")))
    left = set(re.findall(r"\{(\w+)\}", body))
    assert left == escaped and body.count("{") == body.count("}") == len(re.findall(r"\{\w+\}", body))


def test_an_unknown_fact_is_named(tmp_path):
    facts = tmp_path / "facts.yml"
    facts.write_text('facts:\n  shop_name: X\nanswers:\n  utter_x: "Open {opening}, at {shop_name}"\n')
    with pytest.raises(shop.ShopFactsError, match="opening"):
        shop.render_answers(facts)


def test_a_file_without_answers_is_rejected(tmp_path):
    facts = tmp_path / "facts.yml"
    facts.write_text("facts:\n  shop_name: X\n")
    with pytest.raises(shop.ShopFactsError, match="answers"):
        shop.load(facts)


def test_write_reports_whether_anything_changed(tmp_path):
    out = tmp_path / "answers.yml"
    assert shop.write_answers(out=out) is True
    assert shop.write_answers(out=out) is False


def test_money_reads_as_written():
    # YAML turns 4.90 into 4.9: every amount in the facts must keep its two decimals
    for name, value in shop.facts().items():
        if name.endswith(("_cost", "_fee")):
            assert isinstance(value, str) and value.count(".") == 1 and len(value.split(".")[1]) == 2, (name, value)
