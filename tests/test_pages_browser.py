"""The three pages in a real browser (headless Debian Chromium driven by Playwright): what a couple,
a demo visitor and registry staff see and do. Each test saves screenshots at 390 px (a phone) and
1280 px to tests/screenshots/ for review.
"""

import csv
import io
import re
import shutil
import threading
from datetime import date, datetime
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from bot.bookings import closures, engine, wording
from bot.web.pages import staff
from tests.pages_support import FURONG, MONDAY, TZ, Clock, book_couple, pages_app
from tests.test_applicants import make_id

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,  # starts Chromium
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).with_name("screenshots")
WIDTHS = (390, 1280)
TUESDAY = date(2026, 11, 24)
WEDNESDAY = date(2026, 11, 25)
HIM = make_id("19950615", "男")
HER = make_id("19970320", "女")
CODE = re.compile(r"确认码：([2-9A-Z]{6})")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def server(make_app, clock):
    """The app on a free local port, serving from a thread, as a browser reaches it."""
    app = pages_app(make_app, clock)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 844}, base_url=server, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    """Save the page at each width, then restore the phone width the tests run at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844})
        page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways at {width} px"
    page.set_viewport_size({"width": WIDTHS[0], "height": 844})


def log_in(page, username: str = "admin", password: str = "staff-secret") -> None:
    page.goto("/admin/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


# ---- the simulator -----------------------------------------------------------------------------


def say(page, text: str) -> str:
    """Type a message in the chat window and return the bot's answer bubble."""
    answers = page.locator(".msg.bot")
    before = answers.count()
    page.fill("#text", text)
    page.click("#send")
    sync_api.expect(answers).to_have_count(before + 1)
    return answers.last.inner_text()


def test_a_couple_books_by_chat_in_the_simulator_and_checks_in_by_scanning(page, clock, r):
    page.goto("/simulator")
    assert "哪个登记处" in _click_menu(page, "预约登记", "预约结婚登记")
    reply = say(page, "下周三上午在芙蓉区登记结婚")
    assert "长沙市芙蓉区婚姻登记处 12月2日（周三）上午的时段" in reply
    say(page, "2")
    say(page, "张三")
    say(page, HIM)
    say(page, "李四")
    summary = say(page, HER)
    assert "张三" in summary and HIM not in summary  # full names for the couple to check, ID masked
    reply = say(page, "确认")
    assert "预约成功！" in reply and "12月2日（周三） 09:30" in reply
    code = CODE.search(reply).group(1)
    assert engine.get(code).channel == engine.WECHAT
    screenshot(page, "simulator-booking")

    clock.at = datetime(2026, 12, 2, 9, 10, tzinfo=TZ)  # at the registry on the day
    page.click("#toggle-tools")
    page.fill("#scene", f"checkin:{FURONG}")
    answers = page.locator(".msg.bot")
    before = answers.count()
    page.click("#send-scan")
    sync_api.expect(answers).to_have_count(before + 1)
    assert "签到成功" in answers.last.inner_text()
    assert engine.get(code).status == engine.CHECKED_IN


def test_a_handbook_question_a_menu_button_and_a_location_in_the_simulator(page, r):
    page.goto("/simulator")
    reply = say(page, "口罩怎么戴才正确？")
    assert "深色（有颜色）的一面朝外" in reply
    assert _click_menu(page, "防疫问答", "防疫知识分类")
    page.click("#toggle-tools")
    page.select_option("#city", "长沙市")
    answers = page.locator(".msg.bot")
    before = answers.count()
    page.click("#send-location")
    sync_api.expect(answers).to_have_count(before + 1)
    assert "离您最近的婚姻登记处" in answers.last.inner_text()
    assert page.locator(".msg.me").last.inner_text() == "［位置］湖南省长沙市"
    screenshot(page, "simulator-handbook")


def _click_menu(page, top: str, button: str) -> str:
    answers = page.locator(".msg.bot")
    before = answers.count()
    page.click(f"#menu summary:has-text('{top}')")
    page.click(f"#menu button:has-text('{button}')")
    sync_api.expect(answers).to_have_count(before + 1)
    return answers.last.inner_text()


# ---- web booking -------------------------------------------------------------------------------


def test_a_couple_books_on_the_web_and_cancels_with_the_code_and_an_id_number(page, r):
    page.goto("/book")
    assert "疫情防控期间，结婚颁证仪式暂停举办" in page.inner_text("main")
    page.select_option("#city", "长沙市")
    page.select_option("#office", FURONG)
    screenshot(page, "book-office")
    page.click("#office-picker button[type=submit]")
    assert "11/28" in page.inner_text("#calendar") and "周末" in page.inner_text("#calendar")
    page.click("#calendar a:has-text('11/24')")
    page.check("input[name=time][value='09:00']")
    page.fill("[name='applicants[0].name']", "张三")
    page.fill("[name='applicants[0].id_number']", HIM)
    page.fill("[name='applicants[1].name']", "李四")
    page.fill("[name='applicants[1].id_number']", HIM)
    page.click("#slots button[type=submit]")
    error = page.locator("[data-error-for='applicants[1].id_number']")
    assert "两位申请人的身份证号相同" in error.inner_text()
    screenshot(page, "book-form-error")
    page.fill("[name='applicants[1].id_number']", HER)
    page.click("#slots button[type=submit]")

    assert page.inner_text("h1") == "预约成功"
    code = page.inner_text("#code")
    assert "长沙市芙蓉区婚姻登记处" in page.inner_text("main") and "11月24日（周二） 09:00" in page.inner_text("main")
    assert HIM not in page.content() and "张*" in page.inner_text("main")
    assert wording.WHAT_TO_BRING in page.inner_text("main") and "全程佩戴口罩" in page.inner_text("main")
    screenshot(page, "book-done")

    page.click("text=查询或取消预约")
    page.fill("#code", code)
    page.fill("#id_number", HER)
    page.click("button:has-text('查询')")
    assert page.inner_text("#code") == code
    screenshot(page, "book-manage")
    page.click("button:has-text('取消这个预约')")
    assert page.inner_text("h1") == "预约已取消"
    assert engine.get(code).status == engine.CANCELLED
    assert (
        engine.availability(engine.office_data.current().get(FURONG), TUESDAY, now=MONDAY).slot("09:00").remaining == 3
    )


def test_a_wrong_code_does_not_open_someone_elses_booking(page, r):
    booking = book_couple(TUESDAY, "09:00")
    page.goto("/book/manage")
    page.fill("#code", booking.code)
    page.fill("#id_number", HER)  # not theirs
    page.click("button:has-text('查询')")
    assert "没有找到与这个确认码和身份证号相符的预约" in page.inner_text("main")
    assert "王*" not in page.inner_text("main")


# ---- the staff console -------------------------------------------------------------------------


def test_staff_log_in_and_a_wrong_password_is_refused(page, r):
    log_in(page, password="not-the-token")
    assert "用户名或密码不对" in page.inner_text(".error")
    screenshot(page, "admin-login")
    log_in(page)
    assert "欢迎，admin" in page.inner_text(".notice")
    assert "长沙市芙蓉区婚姻登记处" in page.inner_text("h1")


def test_staff_check_a_couple_in_by_their_code(page, clock, r):
    booking = book_couple(TUESDAY, "09:00")
    book_couple(TUESDAY, "09:00", serial=21)
    clock.at = datetime(2026, 11, 24, 8, 45, tzinfo=TZ)  # the morning of the booking
    log_in(page)
    page.fill("#checkin #code", booking.code.lower())
    page.click("#checkin button")
    assert "签到成功" in page.inner_text(".notice")
    assert page.inner_text(f"tr[data-code='{booking.code}'] td:nth-child(6)") == "已签到"
    assert page.inner_text(".slots-table tbody tr:first-child").split() == ["09:00", "3", "2", "1", "0"]
    assert "**************" in page.inner_text("#bookings")
    screenshot(page, "admin-day")


def test_staff_book_for_a_caller_on_the_phone(page, r):
    log_in(page)
    page.fill("#booking_date", "2026-11-25")
    page.select_option("#time", "14:00")
    page.fill("#phone", "13912345678")
    page.fill("[name='applicants[0].name']", "张三")
    page.fill("[name='applicants[0].id_number']", HIM)
    page.fill("[name='applicants[1].name']", "李四")
    page.fill("[name='applicants[1].id_number']", HER)
    page.click("#phone-booking button[type=submit]")
    code = re.search(r"确认码 ([2-9A-Z]{6})", page.inner_text(".notice")).group(1)
    assert engine.get(code).channel == engine.PHONE
    assert page.inner_text(f"tr[data-code='{code}'] td:nth-child(5)") == "电话 139****5678"


def test_closing_a_date_cancels_its_bookings(page, r):
    first, second = book_couple(WEDNESDAY, "09:00"), book_couple(WEDNESDAY, "14:30", serial=21)
    log_in(page)
    page.click("nav a:has-text('停办与容量')")
    page.fill("#close-form #date", "2026-11-25")
    page.fill("#close-form #reason", "疫情防控需要")
    page.click("#close-form button[type=submit]")
    assert "请勾选确认" in page.inner_text("#close-form")
    page.check("#close-form [name=confirm]")
    page.click("#close-form button[type=submit]")
    assert "已停办全省11月25日（周三）：取消2个预约" in page.inner_text(".notice")
    assert "疫情防控需要" in page.inner_text("#closures")
    screenshot(page, "admin-calendar")

    page.goto(f"/admin?office={FURONG}&date=2026-11-25")
    assert "该日已停办：疫情防控需要" in page.inner_text("main")
    for booking in (first, second):
        assert page.inner_text(f"tr[data-code='{booking.code}'] td:nth-child(6)") == "登记处暂停登记，已取消"
    assert closures.reason(FURONG, WEDNESDAY) == "疫情防控需要"
    assert r.llen("notices:pending") == 2


def test_staff_download_a_days_bookings_as_csv(page, r):
    booking = book_couple(TUESDAY, "10:00")
    log_in(page)
    page.fill("form.row #date", "2026-11-24")
    page.click("form.row button[type=submit]")
    with page.expect_download() as download:
        page.click("#export")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][:4] == [booking.code, "2026-11-24", "10:00", "已预约"]
    assert re.fullmatch(r"\*{14}\d{3}[\dX]", rows[1][6])


def test_staff_read_handbook_misses_and_reload_the_handbook(page, r):
    from bot import faq_misses

    faq_misses.record("隔离期间可以网上办结婚登记吗 13812345678", MONDAY)
    log_in(page)
    page.click("nav a:has-text('问答未命中')")
    assert "138****5678" in page.inner_text("#misses")
    page.click("#reload")
    assert "问答库已更新" in page.inner_text(".notice")
    screenshot(page, "admin-handbook")
    page.click("nav a:has-text('每日汇总')")
    assert "调度程序还没有生成这一天的汇总" in page.inner_text("main")
    screenshot(page, "admin-summaries")


def test_a_new_staff_account_signs_in_with_its_own_password(page, r):
    staff.add("liwei", "correct horse", staff.STAFF)
    log_in(page, "liwei", "correct horse")
    assert "欢迎，liwei" in page.inner_text(".notice")


def test_form_attributes_reach_the_browser_as_values_not_quoted_strings(page, r):
    page.goto("/book")
    page.select_option("#city", "长沙市")
    page.select_option("#office", FURONG)
    page.click("#office-picker button[type=submit]")
    page.click("#calendar a:has-text('11/24')")
    name = page.locator("[name='applicants[0].name']")
    assert name.evaluate("e => [e.maxLength, e.autocomplete]") == [20, "off"]
    assert page.locator("[name='applicants[0].id_number']").evaluate("e => e.maxLength") == 18

    log_in(page)
    page.click("nav a:has-text('停办与容量')")
    assert page.get_attribute("#close-form #reason", "placeholder") == "如：疫情防控需要"
    assert page.locator("#close-form #reason").evaluate("e => e.maxLength") == 60
