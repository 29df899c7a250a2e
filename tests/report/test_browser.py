"""The demo report in a real headless Chromium: no console errors, the viewer's steps and struck-through units
against the refine outputs, one scatter point per run, the drill-down, and screenshots kept as artefacts."""

import re
from pathlib import Path

import pytest

from thinktrim.report.browser import open_report, screenshot

pytestmark = pytest.mark.slow
# a step's text as written: each typeset formula counts as its LaTeX source (what the "LaTeX source" toggle shows)
STEPS_JS = """const source = (n) => {
    const c = n.cloneNode(true); c.querySelectorAll('.m-out').forEach(m => m.remove()); return c.textContent; };
return [...document.querySelectorAll('#steps .step')].map(s => ({
    text: source(s.querySelector('.txt')), kind: s.dataset.kind, unit: s.dataset.unit,
    removed: s.classList.contains('removed'), protected: s.classList.contains('protected'),
    link: (s.querySelector('a.link') || {}).textContent || null}))"""


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("report-screenshots")


@pytest.fixture
def page(browser, demo_report):
    open_report(browser, demo_report)
    return browser


def wait(driver, condition, timeout: float = 10):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def open_chain(driver, chain_id: str) -> None:
    """Find the chain with the search box and click it, as a reader would."""
    from selenium.webdriver.common.by import By

    driver.execute_script("document.getElementById('chains').scrollIntoView()")  # clear of the sticky menu
    search = driver.find_element(By.ID, "chain-search")
    search.clear()
    search.send_keys(chain_id)
    item = wait(driver, lambda d: next((li for li in d.find_elements(By.CSS_SELECTOR, "#chain-list li")
                                        if li.get_attribute("data-id") == chain_id), None))
    assert len(driver.find_elements(By.CSS_SELECTOR, "#chain-list li")) >= 1
    item.click()
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#chain-view h3").text.startswith(chain_id))


def test_demo_report_loads_without_console_errors(browser, demo_report, screenshots, capsys) -> None:
    ms = open_report(browser, demo_report)
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    assert ms < 3000
    shots = {"refine_summary": "refine", "chain_viewer": "chains", "eval_scatter": "eval-scatter", "eval": "eval"}
    for name, element in shots.items():
        screenshot(browser, element, screenshots / f"{name}.png")
    assert all((screenshots / f"{n}.png").stat().st_size > 10_000 for n in shots)
    with capsys.disabled():
        print(f"\nreport screenshots: {screenshots}")


def test_viewer_shows_every_step_of_a_chain(page, annotations) -> None:
    from selenium.webdriver.common.by import By

    for ann in annotations:
        open_chain(page, ann["id"])
        shown = page.execute_script(STEPS_JS)
        assert len(shown) == len(ann["steps"])
        assert [s["text"] for s in shown] == [d["text"] for d in ann["steps"]]
        assert [s["kind"] for s in shown] == [d["kind"] for d in ann["steps"]]
        assert [s["protected"] for s in shown] == [d["protected"] for d in ann["steps"]]
        assert [s["link"] for s in shown] == [f"checks step #{d['link']}" if d["kind"] != "progressive" else None
                                             for d in ann["steps"]]
        assert not any(s["removed"] for s in shown)
    link = page.find_element(By.CSS_SELECTOR, "#steps a.link")  # jumps to the progressive step it checks
    target = page.find_element(By.ID, f"s-{link.get_attribute('data-target')}")
    link.click()
    wait(page, lambda d: "flash" in target.get_attribute("class"))


def test_ratio_slider_strikes_exactly_what_each_refined_file_removed(page, annotations, demo_data,
                                                                     refined_thinking) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    (run,) = demo_data["refine"]
    refined = {tag: refined_thinking(tag) for tag in run["ratio_tags"]}
    struck_somewhere = False
    for ann in annotations:
        open_chain(page, ann["id"])
        original = "".join(d["text"] for d in ann["steps"])
        slider = page.find_element(By.ID, "ratio-slider")
        slider.send_keys(Keys.HOME)  # the slider keeps its ratio from one chain to the next
        assert slider.get_attribute("value") == "0"
        assert not any(s["removed"] for s in page.execute_script(STEPS_JS))
        for k, tag in enumerate(run["ratio_tags"], 1):
            slider.send_keys(Keys.ARROW_RIGHT)
            assert slider.get_attribute("value") == str(k)
            shown = page.execute_script(STEPS_JS)
            kept = "".join(s["text"] for s in shown if not s["removed"])
            struck = [s for s in shown if s["removed"]]
            assert kept == refined[tag][ann["id"]], (ann["id"], tag)
            assert "".join(s["text"] for s in shown) == original
            assert all(s["kind"] != "progressive" and s["unit"] != "" and not s["protected"] for s in struck)
            assert page.find_element(By.ID, "ratio-effect").text.startswith(f"ratio {run['ratios'][k - 1]}")
            struck_somewhere |= bool(struck)
            # formulas are inline-blocks, which line-through does not reach: each one in a struck unit has its rule
            rules = page.execute_script(STRUCK_MATH_JS)
            assert all(r["struck"] == r["removed"] for r in rules), (ann["id"], tag, rules)
    assert struck_somewhere, "no unit struck at any ratio: the comparison would prove nothing"


STRUCK_MATH_JS = """return [...document.querySelectorAll('#steps .step .math .m-out')].map(m => {
    const rule = getComputedStyle(m, '::after');
    return {removed: m.closest('.step').classList.contains('removed'),
            struck: rule.content !== 'none' && rule.borderTopStyle === 'solid' && m.getBoundingClientRect().width > 0};
})"""
FRAC = re.compile(r"\$[^$]*\\frac[^$]*\$")


def test_frac_renders_as_katex_and_the_toggle_shows_its_source(page, demo_chains, screenshots) -> None:
    from selenium.webdriver.common.by import By

    chain, formula = next((c, m.group(0)) for c in demo_chains.values() if (m := FRAC.search(c.get("question") or "")))
    open_chain(page, chain["id"])
    question = page.find_element(By.CSS_SELECTOR, "#chain-view .chain-head .question")
    maths = question.find_elements(By.CSS_SELECTOR, ".math")
    frac = next(m for m in maths if m.find_element(By.CSS_SELECTOR, ".m-src").get_attribute("textContent") == formula)
    assert frac.find_elements(By.CSS_SELECTOR, ".m-out .katex .katex-html .mfrac")  # KaTeX's fraction markup
    assert frac.find_element(By.CSS_SELECTOR, ".m-out").is_displayed()
    assert not frac.find_element(By.CSS_SELECTOR, ".m-src").is_displayed()
    assert formula not in question.text  # a reader sees a fraction, not TeX
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", question)
    question.screenshot(str(screenshots / "maths_typeset.png"))
    page.find_element(By.CSS_SELECTOR, "#chains input.tex-toggle").click()
    try:
        assert not frac.find_element(By.CSS_SELECTOR, ".m-out").is_displayed()
        assert frac.find_element(By.CSS_SELECTOR, ".m-src").text == formula
        assert formula in question.text
        question.screenshot(str(screenshots / "maths_source.png"))
    finally:
        page.find_element(By.CSS_SELECTOR, "#chains input.tex-toggle").click()
    assert frac.find_element(By.CSS_SELECTOR, ".m-out").is_displayed()


def test_formulas_in_a_struck_unit_are_struck_too(page, annotations, screenshots) -> None:
    """KaTeX lays formulas out in inline-blocks, which line-through does not reach: a rule crosses each one."""
    from selenium.webdriver.common.by import By

    open_chain(page, annotations[0]["id"])
    step = page.find_element(By.CSS_SELECTOR, "#steps .step.functional")
    # a formula written into a functional step's text, as a chain with maths in its thinking has
    page.execute_script("arguments[0].querySelector('.txt').append(' so ', ...MathText.nodes(arguments[1]))", step,
                        r"\(\frac{1}{k\pi} < 0.001\)")
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", step)
    assert not any(r["struck"] for r in page.execute_script(STRUCK_MATH_JS))
    page.execute_script("arguments[0].classList.add('removed')", step)  # as the slider marks a pruned unit
    rules = page.execute_script(STRUCK_MATH_JS)
    assert rules and all(r["struck"] for r in rules)
    step.screenshot(str(screenshots / "maths_struck.png"))


def test_malformed_formula_stays_text_and_prices_are_not_maths(page) -> None:
    text = r"so \(\frac{1}{\) is wrong, \[\frac{3}{4}\] is right, $$x^2$$ too; $2 and $3 are prices, $a+b$ is maths"
    shown = page.execute_script("""
        const box = document.createElement('div');
        box.append(...MathText.nodes(arguments[0]));
        document.getElementById('chain-view').append(box);
        const out = {text: box.textContent, bad: [...box.querySelectorAll('.math.bad')].map(n => n.textContent),
                     ok: [...box.querySelectorAll('.math .m-src')].map(n => n.textContent),
                     fracs: box.querySelectorAll('.katex .mfrac').length, title: box.querySelector('.math.bad').title,
                     visible: box.querySelector('.math.bad').getBoundingClientRect().width > 0};
        box.remove();
        return out;""", text)
    assert shown["bad"] == [r"\(\frac{1}{\)"]  # KaTeX rejects it: its text is shown as written, marked
    assert shown["visible"] and shown["title"].startswith("not typeset: KaTeX parse error")
    assert shown["ok"] == [r"\[\frac{3}{4}\]", "$$x^2$$", "$a+b$"]
    assert shown["fracs"] == 1
    assert "$2 and $3 are prices" in shown["text"]


def test_scatter_has_one_point_per_run(page, demo_data) -> None:
    from selenium.webdriver.common.by import By

    points = page.find_elements(By.CSS_SELECTOR, "#eval-scatter circle.run-point")
    assert [p.get_attribute("data-run") for p in points] == [r["name"] for r in demo_data["eval"]["runs"]]


def test_drilldown_lists_each_sample_of_a_question(page) -> None:
    from selenium.webdriver.common.by import By

    rows = wait(page, lambda d: d.find_elements(By.CSS_SELECTOR, "#drill-table tbody tr"))
    assert len(rows) == 2
    rows[0].click()
    detail = wait(page, lambda d: d.find_element(By.CSS_SELECTOR, "#drill-table tr.qdetail"))
    samples = detail.find_elements(By.CSS_SELECTOR, ":scope table > tbody > tr")
    assert len(samples) == 2
    assert all(("yes" in s.text or "no" in s.text) for s in samples)
