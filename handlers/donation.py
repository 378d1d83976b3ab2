"""Where to donate, how to volunteer, and what to do when someone asks for a transfer.

The dialogue needs three things: money or materials, which city, and — for materials — whether
they come from outside the mainland (those go to the provincial federation whatever the city).
The first message often says some of them ("海外寄口罩怎么捐"), so the bot asks only for the rest.
Answers come only from knowledge/charity.yaml and never repeat digits a user typed, so nothing
a user sends can turn into an account the bot appears to vouch for. Channels are given, and
credited to the department, only when the list carries the department's signature; otherwise the
bot says the list awaits the department's confirmation and points to its announcement.
"""

import re

from bot.bookings import idcard
from bot.messages import Inbound, Session
from bot.replies import Text
from handlers import general
from knowledge import charity, offices
from knowledge.normalize import compact, is_question, normalize

FLOW = "donation"
TOPIC = "donation"  # the channels just given: "有没有电话", "那株洲呢", "捐物资呢" ask more about them

ANTI_FRAUD = (
    "防骗提醒：只向本号列出的官方慈善会账户或官方平台项目捐赠，不向任何个人账户转账；"
    "工作人员不会通过聊天索要付款码，也不会让您扫码或转账。"
)

# Said whenever the list lacks the department's signature: nothing from it is presented as official.
AWAITING_CONFIRMATION = (
    f"本号的捐赠渠道名单还在等待{charity.OFFICIAL_PUBLISHER}确认，暂不在这里提供账户和电话。"
    f"请以官方公告为准：见{charity.OFFICIAL_PUBLISHER}官网公告 {charity.OFFICIAL_SITE}"
)

_DONATION_WORDS = ("捐", "爱心", "善款", "慈善", "募")
_MONEY_WORDS = ("款", "钱", "转账", "汇款", "资金", "现金")
_MATERIAL_WORDS = (
    "物资", "捐物", "实物", "物品", "口罩", "防护服", "护目镜", "手套", "消毒", "酒精", "药", "食品", "蔬菜",
)  # fmt: skip
_BOTH_WORDS = ("都", "两样", "两者", "款物")  # only read as an answer to "money or materials?"
_ABROAD_WORDS = (
    "海外", "境外", "国外", "外国", "港澳台", "香港", "澳门", "台湾", "华侨", "侨胞", "留学",
    "美国", "日本", "韩国", "英国", "法国", "德国", "意大利", "加拿大", "澳大利亚", "新西兰", "新加坡", "马来西亚",
)  # fmt: skip
_DOMESTIC_WORDS = ("国内", "境内", "省内", "本地")
_ANYWHERE_WORDS = ("不限", "都行", "都可以", "随便", "无所谓", "不知道", "不确定", "哪里都")  # → provincial
_PLACE_SUFFIXES = ("市", "州", "县", "区", "省", "国")
ELSEWHERE = "elsewhere"  # a place not among the 14 cities (a town, a typo): the provincial federation takes it
OUTSIDE_HUNAN = (
    "本号服务湖南省内的爱心捐赠。想支援其他地方，请通过当地民政部门或慈善组织公布的官方渠道捐赠"
    "（以当地政府官网公告为准，或拨打当地12345政务服务便民热线咨询），不要向个人转账。"
)

# A bank-card-like number: 16–19 digits, maybe grouped by spaces or hyphens, that is not a valid
# ID number (an applicant's ID is never a payment). Phones (11) and landlines (12) stay below it.
_CARD_LIKE = re.compile(r"(?<!\d)\d(?:[\s-]?\d){15,18}(?![\dXx])")  # an ID ends in X, a card never
_PAYMENT_PHRASES = (
    "收款码", "付款码", "收钱码", "个人账户", "个人账号", "私人账户", "转账给我", "转给我", "打钱给我", "汇给我",
    "转账到", "汇款到", "打款", "扫码支付", "扫码付", "扫码转账", "卡号", "让我扫", "叫我扫", "要我扫",
    "扫这个码", "扫这个二维码", "扫一下二维码",
)  # fmt: skip
_TRANSFER = "转账"  # a payment word, unless the message is about donating ("捐款能转账吗" gets the channels)
_PLATFORM_WORDS = ("平台", "网上捐", "网络捐", "在线捐", "腾讯公益", "支付宝", "轻松筹", "水滴筹", "微信捐")
_PHONE_WORDS = ("电话", "联系方式", "咨询热线", "怎么联系")
# Right after the channels: "怎么联系他们", "收货地址在哪".
_CONTACT_WORDS = (*_PHONE_WORDS, "联系", "热线", "号码")
_ADDRESS_WORDS = ("地址", "寄到哪", "寄哪", "送到哪", "送哪", "收货")


# ---- recognising messages ---------------------------------------------------------------------


def matches(text: str) -> bool:
    """Whether free text is about donating (捐款, 捐物资, 爱心捐赠…; Traditional too)."""
    words = compact(text)
    return any(w in words for w in _DONATION_WORDS)


def looks_like_payment(text: str) -> bool:
    """A bank-card-like number or a request for payment (收款码, 转账给我, 个人账户, 让我扫码…)."""
    text, words = normalize(text), compact(text)
    if any(p in words for p in _PAYMENT_PHRASES) or (_TRANSFER in words and not matches(text)):
        return True
    return any(not idcard.is_valid(re.sub(r"[\s-]", "", found.group())) for found in _CARD_LIKE.finditer(text))


def outside_hunan(text: str) -> bool:
    """Giving to a place outside Hunan ("想给武汉捐口罩"), when no Hunan city is named too."""
    words = compact(text)
    return any(p in words for p in offices.OTHER_PROVINCES) and charity.current().find_region(words) is None


# ---- handlers -----------------------------------------------------------------------------------


def start(message: Inbound, session: Session) -> Text:
    """Entry from free text or a 爱心捐赠 menu button: answer what the message names, ask for the rest."""
    if looks_like_payment(message.text):
        return payment_warning(message, session)
    session.leave()
    if outside_hunan(message.text):
        return _outside_hunan(message.text, session)
    session.data.update(_read(message.text, asking=None))
    return _next_step(session)


def continue_flow(message: Inbound, session: Session) -> Text | None:
    """The answer to the question just asked; None when the message is plainly about something else."""
    if looks_like_payment(message.text):
        return payment_warning(message, session)
    found = _read(message.text, asking=session.data.get("asking"))
    # "口罩怎么戴" names a material but asks the handbook something; a place or "捐" would make it ours.
    if not found or (set(found) == {"kind"} and is_question(message.text) and not matches(message.text)):
        return None
    if outside_hunan(message.text):
        session.leave()
        return _outside_hunan(message.text, session)
    session.data.update(found)
    return _next_step(session)


def follow_up(message: Inbound, session: Session) -> Text | None:
    """A question about the channels just given: "有没有电话" or "收货地址在哪" gets what the list says of
    the receiver, "那株洲呢" or "捐物资呢" the channels again with that changed; None when the message is
    about something else."""
    text = message.text
    if looks_like_payment(text):
        return None
    given = {k: v for k, v in session.topic.items() if k in ("kind", "region", "abroad")}
    words, found = compact(text), _read(text, asking=None)
    if _named_kind(words, asking=None) is None:
        found.pop("kind", None)  # "那株洲呢": the same gift, to another city
    asked = next((what for what, said in _ASKED_OF_RECEIVERS if any(w in words for w in said)), None)
    if not found and asked:
        session.tell(TOPIC, **given)  # still about the same channels: another follow-up may come
        return _receivers_answer(given, asked)
    if not found or (set(found) == {"kind"} and is_question(text) and not matches(text)):
        return None  # "口罩怎么戴" names a material but asks the handbook
    if outside_hunan(text):
        return _outside_hunan(text, session)
    session.data.update({**given, **found})
    return _next_step(session)


_PHONE, _ADDRESS = "咨询电话", "收货地址"
_ASKED_OF_RECEIVERS = ((_ADDRESS, _ADDRESS_WORDS), (_PHONE, _CONTACT_WORDS))


def _receivers_answer(given: dict, asked: str) -> Text:
    """The phone or address of whoever takes the gift just discussed; the list carries no
    address, and a phone only once confirmed."""
    lines = []
    for receiver in dict.fromkeys(r for r in _receivers(given["kind"], given["region"], given["abroad"]) if r):
        if asked == _PHONE and receiver.phone != charity.UNVERIFIED:
            lines.append(f"{receiver.name}咨询电话：{receiver.phone}")
        else:
            lines.append(f"{receiver.name}的{asked}正在核实，本号暂不提供，请以官方公告为准：{receiver.source}")
    if asked == _ADDRESS:
        lines.append("寄送物资前请先与接收单位联系，确认需要的物资和收货地点。")
    lines.append("也可以拨打12345政务服务便民热线咨询。")
    return _reply("\n".join(lines), "donation.contact")


def resume_prompt(session: Session) -> str:
    """The pending question again, after the router answered a digression."""
    return _question(session.data.get("asking"), session.data)


def volunteer(message: Inbound, session: Session) -> Text:
    charities = charity.current()
    if not charities.verified:
        return _reply(
            f"志愿服务的报名方式正在等待湖南省民政厅确认，请以官方公告为准：{_official_notice()}",
            "volunteer.unverified",
        )
    v = charities.volunteering
    return _reply(
        f"想当志愿者或社工：{v.how_to_join}\n"
        f"全省已建乡镇（街道）社会工作服务站{v.stations}个，驻站社会工作者{v.station_social_workers}。"
        f"疫情防控中，已有{v.epidemic_social_workers}名社会工作者、{v.epidemic_volunteers}名志愿者、"
        f"{v.social_organisations}社会组织参与。（{charities.announcement_publisher}公布的数据，截至{_month_day(v.verified_on)}）",
        "volunteer",
    )


def payment_warning(message: Inbound, session: Session) -> Text:
    """The same words whatever was sent; the number itself is never repeated back."""
    return _reply(
        "请当心诈骗：您发来的内容像是收款账号或付款请求，本号不会核对或转发其中的账号。\n"
        "民政部门和慈善会工作人员不会通过聊天让您扫码、发付款码或向个人转账。"
        "如有人以捐赠、防疫名义要您转账，请立即停止，并拨打110报警。\n"
        "想捐赠请回复“捐款”，查看官方渠道。",
        "donation.payment_warning",
    )


# ---- the dialogue ---------------------------------------------------------------------------------


def _read(text: str, asking: str | None) -> dict:
    """The answers a message gives: kind (money/materials/both), region (federation id), abroad."""
    words = compact(text)
    found = {}
    if kind := _named_kind(words, asking):
        found["kind"] = kind
    if any(w in words for w in _ABROAD_WORDS):
        found["abroad"] = True
    elif any(w in words for w in _DOMESTIC_WORDS):
        found["abroad"] = False
    charities = charity.current()
    region = charities.find_region(words)
    if region:
        found["region"] = region.id
    elif asking == "region" and any(w in words for w in _ANYWHERE_WORDS):
        found["region"] = charities.provincial.id
    elif asking == "region" and not found and _names_a_place(words):
        county = offices.current().find(words)  # a Hunan county gets its city's federation
        hunan_city = charities.find_region(county[0].city) if county else None
        found["region"] = hunan_city.id if hunan_city else ELSEWHERE
    if any(w in words for w in _PLATFORM_WORDS):
        found.setdefault("kind", "money")  # the online project is province-wide: no city to ask for
        found.setdefault("region", charities.provincial.id)
    if asking is None and "kind" not in found and ("region" in found or any(w in words for w in _PHONE_WORDS)):
        # A city named (or its phone asked for) out of the blue: its federation's whole answer. An
        # answer to "which city?" keeps the gift already named.
        found["kind"] = "both"
    return found


def _named_kind(words: str, asking: str | None) -> str | None:
    """money, materials or both, when the words say which."""
    money = any(w in words for w in _MONEY_WORDS)
    materials = any(w in words for w in _MATERIAL_WORDS)
    if money and materials:
        return "both"
    if money or materials:
        return "money" if money else "materials"
    return "both" if asking == "kind" and any(w in words for w in _BOTH_WORDS) else None


def _names_a_place(words: str) -> bool:
    """A short reply with no question in it, given when we asked for a city: some other place
    (not "唔该晒": thanks are no place)."""
    if not words or is_question(words) or general.small_talk_line(words):
        return False
    return len(words) <= 6 or (len(words) <= 12 and words.endswith(_PLACE_SUFFIXES))


def _next_step(session: Session) -> Text:
    if not charity.current().verified:
        # No point asking questions we may not answer: the list itself is in doubt.
        session.leave()
        return _reply(AWAITING_CONFIRMATION, "donation.unverified")
    data = session.data
    kind, region, abroad = data.get("kind"), data.get("region"), data.get("abroad")
    only_overseas_materials = kind == "materials" and abroad
    if kind is None:
        asking = "kind"
    elif region is None and not only_overseas_materials:
        asking = "region"
    else:
        session.leave()
        session.tell(TOPIC, kind=kind, region=region, abroad=bool(abroad))
        return _channels(kind, region, bool(abroad))
    session.start(FLOW, **{**data, "asking": asking})
    return _reply(_question(asking, data), f"donation.ask_{asking}")


def _question(asking: str | None, data: dict) -> str:
    if asking == "kind":
        return "感谢您的爱心！请问您想捐款，还是捐物资？（都想捐可回复“都捐”）"
    if asking == "region":
        question = "请问您想捐给湖南哪个市州？回复市州名即可，如“长沙”；不限地区请回复“全省”。"
        if data.get("kind") != "money" and data.get("abroad") is None:
            question += "\n物资从境外（含港澳台）寄来的，请回复“境外”。"
        return question
    return ""


def _channels(kind: str, region_id: str | None, abroad: bool) -> Text:
    charities = charity.current()
    lines = []
    if region_id == ELSEWHERE:
        cities = "、".join(f.aliases[0] for f in charities.cities)
        lines.append(f"您说的地方不在湖南省14个市州（{cities}）之内，可以捐给全省统筹的{charities.provincial.name}。")
    money, materials = _receivers(kind, region_id, abroad)
    if money and money == materials:
        lines.append("【捐款和物资】")
        lines += _federation_lines(money)
    elif money:
        lines.append("【捐款】")
        lines += _federation_lines(money)
    if money:
        others = "、".join(p for p in charities.platforms if p != charities.project_platform)
        lines.append(
            f"网上捐款：在{charities.project_platform}上是“{charities.project}”项目；在{others}上请找湖南省的"
            f"疫情防控募捐项目，或按{charities.announcement_publisher}公告里列出的项目捐。"
        )
    if materials:
        if materials != money:
            lines.append("【捐物资】")
            lines += _federation_lines(materials)
        if abroad:
            lines.append(
                f"按{charities.announcement_publisher}截至{_month_day(charities.verified_on)}的规定，境外（含港澳台）"
                f"捐赠物资由{materials.name}统一接收，无论想捐给哪个市州。{materials.note}以民政厅最新公告为准。"
            )
        lines.append("寄送物资前请先与接收单位联系，确认需要的物资和收货地点。")
    lines.append(f"捐赠票据：{charities.receipts}")
    # Only a list the department signed reaches this line (see _next_step), so the credit is true.
    publisher = charities.announcement_publisher
    lines.append(f"（名单经{publisher}签名确认，数据截至{_month_day(charities.verified_on)}；来源：{publisher}）")
    return _reply("\n".join(lines), "donation.channels")


def _receivers(kind: str, region_id: str | None, abroad: bool) -> tuple[charity.Federation | None, ...]:
    """Who takes the money and who the materials (None for what the donor does not give)."""
    charities = charity.current()
    region = next((f for f in charities.federations if f.id == region_id), None)
    money = charities.receiver(charity.MONEY, region) if kind in ("money", "both") else None
    need = charity.OVERSEAS_MATERIALS if abroad else charity.MATERIALS
    materials = charities.receiver(need, region) if kind in ("materials", "both") else None
    return money, materials


def _federation_lines(federation: charity.Federation) -> list[str]:
    account = federation.account
    if account.confirmed:
        lines = [
            federation.name,
            f"户名：{account.name}",
            f"开户行：{account.bank}",
            f"账号：{account.number}",
            f"（账户核实于{_day(account.verified_on)}，见{federation.source}）",
        ]
    else:
        lines = [
            federation.name,
            f"银行账户正在核实，暂不提供，请以官方公告为准：见湖南省民政厅官网公告 {federation.source}",
        ]
    if federation.phone == charity.UNVERIFIED:
        lines.append("咨询电话正在核实，请以上述公告为准。")
    else:
        lines.append(f"咨询电话：{federation.phone}")
    return lines


def _month_day(day) -> str:
    return f"{day.month}月{day.day}日"


def _official_notice() -> str:
    # From code, not from the list: this is what we say when the list itself is not trusted.
    return f"见{charity.OFFICIAL_PUBLISHER}官网公告 {charity.OFFICIAL_SITE}"


def _day(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _outside_hunan(text: str, session: Session) -> Text:
    """Giving outside Hunan: where to look instead. The gift it named stays the topic, so "那长沙的呢"
    then gets Changsha's channels."""
    session.tell(TOPIC, kind=_read(text, asking=None).get("kind"), region=None, abroad=False)
    return _reply(OUTSIDE_HUNAN, "donation.outside_hunan")


def _reply(body: str, intent: str) -> Text:
    return Text(f"{body}\n{ANTI_FRAUD}", intent)
