"""A trainer's loop in headless Chromium against a stack of its own (on tmp copies of data/, domain/, the facts, the
stories and a tmp models folder, so the repo's files and the shared model are never touched): sign in, the inbox with
the misses seeded in the touchpoint database (an agent's message and an email never shown), an intent assigned with
the keyboard, the change in the history, undone and made again, a real training with live progress, the report, the
activation with a reason, the active model and the log, and the rollback. Screenshots: test-artifacts/train-*.png.

Heavy (a real `rasa train` and two model loads): run it under `flock /tmp/heavy.lock`."""
from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import time
import uuid
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from bot.runner import Stack
from bot.settings import ROOT, Settings
from bot.touchpoints import rollup
from bot.touchpoints.models import upgrade
from tests.conftest import ADMIN_PASSWORD, free_port
from tests.e2e.browser import NEEDS_CHROMIUM, SHOTS, painted, sign_in, submit_sign_in
from tests.integration.conftest import REST_TOKEN, Chat, Console

pytestmark = NEEDS_CHROMIUM
SHARED_MODEL = ROOT / "models" / "current.tar.gz"
EMAIL = "zoe.quinn@mailbox.test"
AGENT_SAYS = "I have refunded your order, anything else?"
# what the trainer teaches, the same phrase and intent as tests/integration/test_training.py teaches: the two
# trainings then have the same data, and the second is restored from Rasa's cache in seconds, not minutes
BILL = "flurbo grunkle snazzwick"
TAUGHT = "faq_gift_cards"
FLAGGED = "i need that paper thing for the stuff i bought"
TRAINING_TIMEOUT = 3000  # a real training, its evaluation and conversation tests, at idle priority on 2 shared cores


@pytest.fixture(scope="module")
def train_stack(tmp_path_factory, redis_url):
    """A stack of this module's own: the trainer's files and models are tmp copies, given to every process through
    the environment (TRAIN_DATA_DIR, TRAIN_DOMAIN_DIR, SHOP_FACTS_FILE, TRAIN_STORIES_DIR, MODELS_DIR)."""
    if not SHARED_MODEL.exists():
        pytest.skip("no trained model to start from (make train)")
    root = Path(tmp_path_factory.mktemp("train"))
    shutil.copytree(ROOT / "data", root / "data")
    shutil.copytree(ROOT / "domain", root / "domain")
    shutil.copytree(ROOT / "tests" / "stories", root / "stories")
    (root / "shop").mkdir()
    shutil.copy2(ROOT / "shop" / "facts.yml", root / "shop" / "facts.yml")
    (root / "models").mkdir()
    shutil.copy2(SHARED_MODEL, root / "models" / "current.tar.gz")
    settings = Settings(
        rasa_port=free_port(), actions_port=free_port(), console_port=free_port(), redis_url=redis_url,
        console_admin_password=ADMIN_PASSWORD, rest_token=REST_TOKEN, handoff_max_wait=3600, demo_data=False,
        var_dir=root / "var",
        train_data_dir=root / "data", train_domain_dir=root / "domain", shop_facts_file=root / "shop" / "facts.yml",
        train_stories_dir=root / "stories", models_dir=root / "models", train_cv_folds=0,
        activate_f1_margin=0.5,  # the walk is about the console; the gate's margin has its own tests
    )
    with Stack(settings) as running:  # Rasa loads models_dir/current.tar.gz
        yield running, root


def seed_misses(url: str) -> str:
    cid = f"test-{uuid.uuid4().hex}"
    now = dt.datetime.utcnow()

    def row(text, actor="visitor", intent="check_invoice", confidence=0.3, minutes=5, conversation=cid):
        return {"conversation_id": conversation, "customer_id": None, "channel": "widget", "actor": actor,
                "agent_id": "pia" if actor == "agent" else None, "type": "message", "stage": "purchase",
                "intent": intent, "confidence": confidence, "frustration": 0.0, "latency_ms": None, "text": text,
                "created_at": now - dt.timedelta(minutes=minutes), "meta": {}}
    rows = [row(BILL, minutes=30), row(BILL, minutes=25, conversation=f"{cid}-2"),
            row(f"my login {EMAIL} keeps saying wrong password", intent="edit_account", confidence=0.4, minutes=10),
            row("asdf qwerty zzz", intent="nlu_fallback", confidence=0.2, minutes=8),
            row(AGENT_SAYS, actor="agent", intent=None, confidence=None, minutes=7)]
    upgrade(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        rollup.insert(conn, rows)
    engine.dispose()
    return cid


def make_trainer(stack) -> tuple:
    admin = Console(stack)
    username, password = "tess", "tess-password-123"
    created = admin.http.post(f"{admin.base}/api/users", headers={"X-CSRF-Token": admin.csrf}, timeout=30,
                              json={"username": username, "password": password, "name": "Tess", "role": "trainer"})
    assert created.status_code in (201, 400), created.text
    return username, password


async def key(page, name: str, code: str = "", vk: int = 0) -> None:
    """A key pressed and released, as a person's keyboard sends it (keydown listeners see it)."""
    params = {"key": name, "code": code or (f"Key{name.upper()}" if len(name) == 1 and name.isalpha() else name),
              "windowsVirtualKeyCode": vk or (ord(name.upper()) if len(name) == 1 else 0)}
    await page.send("Input.dispatchKeyEvent", type="keyDown", **params, **({"text": name} if len(name) == 1 else {}))
    await page.send("Input.dispatchKeyEvent", type="keyUp", **params)


async def shot(page, name: str) -> None:
    await painted(page)
    await page.screenshot(SHOTS / f"train-{name}.png")


ROW_TEXTS = "[...document.querySelectorAll('#inbox-rows tr.inbox-row .text')].map(t => t.textContent)"
SELECTED = "document.querySelector('#inbox-rows tr.selected .text').textContent"
FLASH = "document.getElementById('flash').textContent"


def data_has(root: Path, text: str) -> bool:
    return any(f"- {text}\n" in p.read_text(encoding="utf-8") for p in (root / "data" / "nlu").glob("*.yml"))


async def the_inbox(page, stack):
    await page.send("Page.enable")
    await page.send("Page.addScriptToEvaluateOnNewDocument", source="window.__csp = []; document.addEventListener("
                    "'securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")
    username, password = make_trainer(stack)
    await submit_sign_in(page, stack.settings.console_url, username, password)
    await page.wait_for("location.pathname === '/train' && Number(document.body.dataset.inbox) >= 3")
    texts = await page.js(ROW_TEXTS)
    assert BILL in texts and "asdf qwerty zzz" in texts, texts
    assert any("[email]" in t and "wrong password" in t for t in texts), texts
    flagged = await page.js(f"[...document.querySelectorAll('#inbox-rows tr')].find(tr => tr.querySelector('.text')"
                            f".textContent === {FLAGGED!r}).querySelector('.pill.flagged').textContent")
    assert flagged == "flagged by an agent"
    body = await page.js("document.body.textContent")
    assert EMAIL not in body and AGENT_SAYS not in body
    assert await page.js("document.querySelector('#keys-legend').textContent.includes('ignore')")
    await page.js("document.getElementById('inbox-order').value = 'frequent';"
                  "document.getElementById('inbox-order').dispatchEvent(new Event('change'))")
    await page.wait_for(f"{ROW_TEXTS}[0] === {BILL!r}")
    await shot(page, "inbox")


async def assign_with_the_keyboard(page, root):
    await page.js("document.activeElement.blur()")
    await key(page, "j")
    await key(page, "k")
    assert await page.js(SELECTED) == BILL
    await key(page, "e")
    await page.wait_for("document.activeElement.classList.contains('picker')")
    await page.send("Input.insertText", text=TAUGHT)
    await shot(page, "picker")
    await key(page, "Enter", "Enter", 13)
    await page.wait_for(f"!{ROW_TEXTS}.includes({BILL!r})")
    assert f"Taught as {TAUGHT}" in await page.js(FLASH)
    assert data_has(root, BILL)


HISTORY_ROWS = "[...document.querySelectorAll('#history-rows tr')]"


async def history_undo_redo(page, root):
    await page.js("location.hash = '#/history'")
    await page.wait_for(f"{HISTORY_ROWS}.length >= 1 && {HISTORY_ROWS}[0].textContent.includes({BILL!r})")
    first = await page.js(f"{HISTORY_ROWS}[0].textContent")
    assert TAUGHT in first and "inbox" in first and "tess" in first
    await page.js(f"{HISTORY_ROWS}[0].querySelector('button.undo').click()")
    await page.wait_for(f"{HISTORY_ROWS}.length >= 2 && {HISTORY_ROWS}[0].textContent.includes('undid')")
    assert not data_has(root, BILL)
    await shot(page, "history-undone")
    await page.js(f"{HISTORY_ROWS}[1].querySelector('button.redo').click()")  # the undone change, made again
    await page.wait_for(f"{HISTORY_ROWS}.length >= 3 && {HISTORY_ROWS}[0].querySelector('button.undo')")
    assert TAUGHT in await page.js(f"{HISTORY_ROWS}[0].textContent")
    assert data_has(root, BILL)
    await shot(page, "history")


async def train_and_report(page):
    await page.js("location.hash = '#/model'")
    await page.wait_for("document.body.dataset.models !== undefined")
    await page.js("document.getElementById('train-start').click()")
    await page.wait_for("document.body.dataset.job && document.body.dataset.job !== 'done'", timeout=30)
    await page.wait_for("document.getElementById('job-log').textContent.length > 0", timeout=600)
    await shot(page, "training")
    started = time.monotonic()
    await page.wait_for("['done', 'failed', 'cancelled'].includes(document.body.dataset.job)", timeout=TRAINING_TIMEOUT)
    print(f"training took {time.monotonic() - started:.0f} s in the browser's view")
    assert await page.js("document.body.dataset.job") == "done", await page.js("document.getElementById('job-stage').textContent")
    await page.wait_for("!document.getElementById('report').hidden")
    assert await page.js("document.querySelectorAll('#report-intents tr').length") > 20
    assert await page.js("document.getElementById('report-summary').textContent.includes('conversation tests')")
    await shot(page, "report")
    await page.js("document.getElementById('report-intents').scrollIntoView()")
    await shot(page, "report-intents")
    await page.js("window.scrollTo(0, 0)")


async def activate_and_roll_back(page):
    gate = await page.js("document.getElementById('gate').textContent")
    assert await page.js("!document.getElementById('activate').disabled"), gate
    await page.js("document.getElementById('activate-reason').value = 'taught the bill question from the inbox';"
                  "document.getElementById('activate-form').requestSubmit()")
    await page.wait_for("document.body.dataset.models === '1'", timeout=300)
    log = await page.js("document.getElementById('activations').textContent")
    assert "taught the bill question from the inbox" in log and "tess" in log and "Activated" in log, log
    candidate = await page.js("document.getElementById('activate-form').dataset.candidate")
    assert candidate in await page.js("document.getElementById('active-model').textContent")
    await shot(page, "activated")
    await page.js("document.getElementById('rollback-reason').value = 'checking the rollback';"
                  "document.getElementById('rollback-form').requestSubmit()")
    await page.wait_for("document.body.dataset.models === '2'", timeout=300)
    log = await page.js("document.getElementById('activations').textContent")
    assert "Rolled back" in log and "checking the rollback" in log
    assert candidate not in await page.js("document.getElementById('active-model').textContent")
    await shot(page, "rolled-back")


async def flag_in_the_console(browser, stack):
    """An admin reading a conversation marks the visitor's message "Bot misunderstood"; the bot's turns have no such
    button."""
    chat = Chat(stack)
    chat.say(FLAGGED)
    page = await browser.isolated_page()
    try:
        await sign_in(page, stack, "admin", ADMIN_PASSWORD)
        await page.js(f"location.hash = '#/c/{chat.sender}'")
        await page.wait_for("document.querySelector('#transcript .turn.visitor button.flag')")
        assert await page.js("document.querySelectorAll('#transcript .turn.bot button.flag').length") == 0
        await page.js("document.querySelector('#transcript .turn.visitor button.flag').click()")
        await page.wait_for("document.querySelector('#transcript .turn.visitor .pill.flagged') || "
                            "document.getElementById('flash').classList.contains('error')")
        assert await page.js("Boolean(document.querySelector('#transcript .turn.visitor .pill.flagged'))"), \
            await page.js(FLASH)
        await shot(page, "flagged-in-console")
    finally:
        await page.close()


def test_a_trainer_teaches_trains_activates_and_rolls_back(train_stack, browser):
    stack, root = train_stack
    seed_misses(stack.settings.touchpoints_url)

    async def scenario():
        await flag_in_the_console(browser, stack)
        page = await browser.isolated_page()
        try:
            await the_inbox(page, stack)
            await assign_with_the_keyboard(page, root)
            await history_undo_redo(page, root)
            await train_and_report(page)
            await activate_and_roll_back(page)
            assert await page.js("window.__csp") == []
        finally:
            await page.close()
    started = time.monotonic()
    asyncio.run(scenario())
    print(f"the trainer's walk took {time.monotonic() - started:.0f} s")
    assert requests.get(f"{stack.settings.console_url}/health", timeout=10).status_code == 200
