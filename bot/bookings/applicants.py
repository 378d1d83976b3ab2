"""Who may register a marriage: the one place eligibility is decided (chat, phone and web all call it).

Messages are for the citizen and say which person and which field is wrong, so the chat can
ask again for exactly that field and the API can return them as `fields`.
"""

import re
import unicodedata
from datetime import date, timedelta
from functools import cache

from bot.bookings import idcard
from bot.bookings.wording import ORDINALS
from knowledge import retrieval
from knowledge.normalize import normalize

# Civil Code art. 1047: men may marry from 22, women from 20.
LEGAL_AGE = {"男": 22, "女": 20}

_MIDDLE_DOTS = str.maketrans({"•": "·", "・": "·", "‧": "·", "∙": "·", ".": "·", "．": "·"})
_CHINESE_NAME = re.compile(r"[\u3400-\u9fff]+(·[\u3400-\u9fff]+)*")
_LATIN_NAME = re.compile(r"[A-Za-z]+([ '-][A-Za-z]+)*")


# Words that introduce a person's name: "我叫张伟", "她叫李娜", "女方是王芳", "姓名：张三".
_INTRODUCTION = re.compile(
    r"(?:(?:我|他|她|男方|女方|男的|女的|新郎|新娘|老公|老婆|未婚夫|未婚妻|男朋友|女朋友|对象|爱人)的?(?:名字|姓名)?(?:叫做?|是)"
    r"|(?:名字|姓名)(?:叫做?|是|[:：]))\s*"
)


class InvalidName(ValueError):
    """str(error) is the reason, in Chinese, without saying whose name it is."""


def validate_name(name: str) -> str:
    """The name as it should be stored (Simplified, half-width, single spaces), or InvalidName."""
    cleaned = " ".join(unicodedata.normalize("NFKC", name or "").split())
    if re.search(r"[\u3400-\u9fff]", cleaned):
        # Resident ID cards print Simplified characters; a Traditional keyboard's 張 is the card's 张.
        cleaned = normalize(cleaned).replace(" ", "").translate(_MIDDLE_DOTS)
        valid = _CHINESE_NAME.fullmatch(cleaned)
    else:
        valid = _LATIN_NAME.fullmatch(cleaned)
    if not cleaned:
        raise InvalidName("姓名没有填写")
    if len(cleaned) < 2:
        raise InvalidName("姓名至少要2个字")
    if len(cleaned) > 20:
        raise InvalidName("姓名最多20个字")
    if not valid:
        raise InvalidName("姓名只能是汉字（少数民族姓名可用间隔号·），或英文字母和空格")
    return cleaned


def persons_name(text: str) -> str | None:
    """The text as a name when it is nothing but one ("张三", "王小明"), else None: jieba's
    part-of-speech tagger tells a person's name (nr) from words that pass validate_name too
    ("马上", "周末", "方便")."""
    try:
        name = validate_name(text)
    except InvalidName:
        return None
    words = list(_name_tagger().cut(name))
    return name if len(words) == 1 and words[0].flag.startswith("nr") else None


def without_introduction(text: str) -> str:
    """The answer to "the name, please" without the words that introduce it ("我叫张伟", "那个女的叫
    周慧敏")."""
    introduced = _INTRODUCTION.search(normalize(text))
    return normalize(text)[introduced.end() :] if introduced else text


def introduced_names(text: str) -> list[str]:
    """The names introduced anywhere in a message ("下周五去岳麓区 我叫张伟 她叫李娜"): after each
    introduction, the word jieba's tagger reads as a person's name (so "我是来预约的" gives none)."""
    normal, names = normalize(text), []
    for introduced in _INTRODUCTION.finditer(normal):
        first = next(iter(_name_tagger().cut(normal[introduced.end() :])), None)
        if first is not None and first.flag.startswith("nr") and (name := persons_name(first.word)):
            names.append(name)
    return names


def reads_as_words(name: str) -> bool:
    """Whether a Chinese "name" is rather everyday words ("候补", "马上", "好的", "算了"): jieba finds no
    noun in it, where a name is read as a person's or place's name or another noun (高峰, 扎西)."""
    if not re.search(r"[\u3400-\u9fff]", name):
        return False
    return not any(word.flag.startswith("n") for word in _name_tagger().cut(name))


@cache
def _name_tagger():
    from jieba import posseg  # its tag table costs ≈0.7 s: loaded only when a name comes out of turn

    return posseg.POSTokenizer(retrieval.tokenizer())


def age_reached_on(birth: date, years: int) -> date:
    """First day a person born on `birth` counts as `years` full years old.

    Civil Code arts. 201–202: the day of birth is not counted, so the period ends on the
    anniversary (28 Feb for a 29 Feb birth) and the age is reached the day after.
    """
    try:
        anniversary = birth.replace(year=birth.year + years)
    except ValueError:
        anniversary = date(birth.year + years, 2, 28)
    return anniversary + timedelta(days=1)


def check_couple(applicants: list[dict], on: date) -> dict[str, str]:
    """Errors keyed by field ("applicants[1].id_number"), each naming the person; empty = may register on `on`."""
    if not isinstance(applicants, list) or len(applicants) != 2:
        return {"applicants": "需要两位申请人（男女双方）的姓名和身份证号"}
    errors: dict[str, str] = {}
    people = []
    for index, (ordinal, applicant) in enumerate(zip(ORDINALS, applicants, strict=True)):
        applicant = applicant if isinstance(applicant, dict) else {}
        try:
            validate_name(str(applicant.get("name") or ""))
        except InvalidName as reason:
            errors[f"applicants[{index}].name"] = f"{ordinal}申请人的{reason}"
        number = str(applicant.get("id_number") or "")
        field = f"applicants[{index}].id_number"
        try:
            info = idcard.parse(number)
        except idcard.InvalidIdNumber as reason:
            errors[field] = f"{ordinal}申请人的{reason}"
            continue
        if info.birth > on:
            errors[field] = f"{ordinal}申请人的身份证号中的出生日期晚于登记日期，请核对"
            continue
        legal_age = LEGAL_AGE[info.sex]
        if on < age_reached_on(info.birth, legal_age):
            errors[field] = f"{ordinal}申请人登记当天未满{legal_age}周岁（{info.sex}方法定婚龄）"
        people.append((idcard.canonical(number), info))
    if len(people) == 2:
        (first_number, first), (second_number, second) = people
        if first_number == second_number:
            errors["applicants[1].id_number"] = "两位申请人的身份证号相同，请填写另一位申请人的身份证号"
        elif first.sex == second.sex:
            errors["applicants"] = (
                "按照《民法典》，结婚登记须由男女双方共同申请。两位申请人的身份证号显示性别相同，"
                "如有填写错误请核对；如有疑问可咨询当地民政部门。"
            )
    return errors
