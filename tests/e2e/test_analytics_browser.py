"""The analytics dashboard in headless Chromium with two weeks of demo conversations, as an admin reads it on
a desktop and on a phone: readable axes and labels, durations in minutes and seconds, the demo data marked
and removed with one click. Screenshots go to test-artifacts/analytics*.png for a person to look at."""
import asyncio
import json
import re

from bot.touchpoints import demo
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.browser import NEEDS_CHROMIUM, SHOTS, Browser, submit_sign_in
from tests.integration.test_analytics_api import console_stack, conversations_in, real_conversation  # noqa: F401

pytestmark = NEEDS_CHROMIUM

# every chart's scales, as Chart.js laid them out: tick labels, and where the scale sits in its canvas
SCALES = """[...document.querySelectorAll('#charts canvas')].map(c => { const ch = Chart.getChart(c);
  return {id: c.closest('.panel').id, width: ch.width, scales: Object.values(ch.scales).map(s => ({
    axis: s.axis, left: s.left, right: s.right, width: s.width, ticks: s.ticks.map(t => [t.label].flat().join(' ')),
    widest: (() => { ch.ctx.save(); ch.ctx.font = Chart.helpers.toFont(s.options.ticks.font).string;
      const w = Math.max(0, ...s.ticks.flatMap(t => [t.label].flat()).map(l => ch.ctx.measureText(String(l)).width));
      ch.ctx.restore(); return w; })()
  }))}; })"""
DURATION = re.compile(r"^(\d+ s|\d+ min( \d+ s)?|\d+ h( \d+ min)?)$")


async def sign_in_to_analytics(page, console):
    # every Content-Security-Policy violation on the pages that follow is kept for the test to see
    await page.send("Page.enable")
    await page.send("Page.addScriptToEvaluateOnNewDocument", source="window.__csp = []; document.addEventListener("
                    "'securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")
    await submit_sign_in(page, console.settings.console_url, "admin", ADMIN_PASSWORD)
    await page.wait_for("location.pathname === '/'")
    await page.goto(f"{console.settings.console_url}/analytics")
    await page.wait_for("document.body.dataset.loaded === '1'")


async def check_readable(page):
    charts = await page.js(SCALES)
    assert len(charts) == 10, [c["id"] for c in charts]
    for chart in charts:
        for scale in chart["scales"]:
            assert scale["left"] >= 0 and scale["right"] <= chart["width"] + 1, (chart["id"], scale)
            if scale["axis"] == "y":  # its labels fit beside the chart, none cut at the edge ("1134" as "113")
                assert scale["widest"] <= scale["width"], (chart["id"], scale)
    by_id = {c["id"]: {s["axis"]: s["ticks"] for s in c["scales"]} for c in charts}
    assert len(by_id["panel-conversations"]["y"]) >= 4  # more than 0 and the maximum
    assert all(t.endswith("%") for t in by_id["panel-containment"]["y"])
    assert all(DURATION.match(t) for t in by_id["panel-wait"]["y"] if t != "0 s"), by_id["panel-wait"]["y"]
    shown = by_id["panel-intents"]["y"] + by_id["panel-reasons"]["y"] + by_id["panel-funnel"]["y"]
    assert not [t for t in shown if "_" in t], shown  # no raw names
    assert any(t.startswith("Where is my order") for t in by_id["panel-intents"]["y"]), by_id["panel-intents"]["y"]
    assert "Bot did not understand twice" in by_id["panel-reasons"]["y"]
    assert await page.js("window.__csp") == []  # the vendored library runs under the console's policy
    funnel = await page.js("Chart.getChart(document.querySelector('#panel-funnel canvas')).data.datasets[0].data")
    assert funnel == sorted(funnel, reverse=True) and funnel[0] > funnel[-1]  # it narrows


async def hover_tooltip(page, panel: str, index: int):
    """Move the mouse onto a chart's point or bar, as a person would; returns the tooltip's lines."""
    where = await page.js(f"""(() => {{ const c = document.querySelector('#{panel} canvas'); c.scrollIntoView();
      const el = Chart.getChart(c).getDatasetMeta(0).data[{index}].getCenterPoint(), r = c.getBoundingClientRect();
      return [r.left + el.x, r.top + el.y]; }})()""")
    await page.send("Input.dispatchMouseEvent", type="mouseMoved", x=where[0], y=where[1])
    await page.wait_for(f"Chart.getChart(document.querySelector('#{panel} canvas')).tooltip.opacity > 0")
    return await page.js(f"""(() => {{ const t = Chart.getChart(document.querySelector('#{panel} canvas')).tooltip;
      return [...t.title, ...t.body.flatMap(b => b.lines)]; }})()""")


async def check_tooltips(page):
    wait = await hover_tooltip(page, "panel-wait", 3)
    assert wait[1].startswith("median: ") and DURATION.match(wait[1][len("median: "):]), wait
    funnel = await hover_tooltip(page, "panel-funnel", 2)
    assert funnel[0] == "Ordering and orders" and re.match(r"[\d,]+ conversations, \d+% of all", funnel[1]), funnel


async def check_cards(page):
    cards = dict(await page.js("[...document.querySelectorAll('.card')].map(c => [c.querySelector('.k').textContent, "
                               "c.querySelector('.v').textContent])"))
    assert len(cards) == 10
    assert DURATION.match(cards["Handling time (median)"]) and DURATION.match(cards["First agent response (median)"])
    assert all(DURATION.match(part) for part in cards["Wait for a person (median / 90th percentile)"].split(" / "))
    assert "%" in cards["Contained by the bot"] and int(cards["Conversations"].replace(",", "")) > 100
    text = await page.js("document.body.innerText")
    assert "Queries took" not in text and "{" not in text


def test_the_dashboard_reads_well_marks_demo_data_and_removes_it_in_one_click(console_stack):  # noqa: F811
    url = console_stack.settings.touchpoints_url
    assert demo.fill(url, days=14, per_day=25) > 1000
    real_conversation(url, "real-browser-1")
    browser = Browser()

    async def scenario():
        page = await browser.isolated_page()
        try:
            await page.viewport(1400, 2000)
            await sign_in_to_analytics(page, console_stack)
            await check_readable(page)
            await check_cards(page)
            await check_tooltips(page)
            banner = await page.js("document.getElementById('demo-banner').hidden ? '' : "
                                   "document.getElementById('demo-text').textContent")
            assert re.search(r"include [\d,]+ demo conversations \(of [\d,]+ in this range\)", banner), banner
            assert await page.js("document.querySelectorAll('#agents tr.demo .pill.demo').length") >= 2
            await page.js("window.scrollTo(0, 0)")
            await page.screenshot(SHOTS / "analytics.png")
            await page.js("document.getElementById('agents-panel').scrollIntoView()")
            await page.screenshot(SHOTS / "analytics-agents.png")

            await page.viewport(390, 2600, mobile=True)
            await page.goto(f"{console_stack.settings.console_url}/analytics")
            await page.wait_for("document.body.dataset.loaded === '1'")
            assert await page.js("document.documentElement.scrollWidth") <= 390  # nothing sideways
            await check_readable(page)
            await page.screenshot(SHOTS / "analytics-phone.png")

            await page.js("document.getElementById('demo-remove').click()")
            await page.wait_for("document.getElementById('demo-banner').hidden")
            flash = await page.js("document.getElementById('flash').textContent")
            assert flash.startswith("Removed the demo data"), flash
            assert conversations_in(url) == {"real-browser-1"}
            figures = json.loads(await page.js("fetch('/api/analytics').then(r => r.text())"))
            assert figures["demo"]["total"] == 0 and figures["totals"]["conversations"] == 1
            await page.screenshot(SHOTS / "analytics-phone-demo-removed.png")
        finally:
            await page.close()
    try:
        asyncio.run(scenario())
    finally:
        browser.close()
        demo.remove(url)
