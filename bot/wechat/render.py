"""Replies → WeChat XML, and the paging of text that doesn't fit one message.

WeChat drops a text reply over 2048 UTF-8 bytes, so long text is cut at line ends into pages:
the first goes now with a hint, the rest wait in the session for "更多".
"""

import re
import time

from wechatpy.replies import TransferCustomerServiceReply

from bot import replies

MAX_TEXT_BYTES = 2048
MORE_HINT = '\n\n（回复"更多"继续）'
SUCCESS = "success"

# Characters XML 1.0 forbids; a user's text echoed back must not make the reply unparseable.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def paginate(text: str, limit: int = MAX_TEXT_BYTES) -> list[str]:
    """Pages of at most `limit` bytes each, counting the hint that all but the last carry."""
    if _size(text) <= limit:
        return [text]
    budget = limit - _size(MORE_HINT)
    pages, current = [], ""
    for line in text.splitlines(keepends=True):
        while _size(line) > budget:  # a single line longer than a page: cut it by characters
            head = _fit(line, budget - _size(current))
            pages.append(current + head)
            current, line = "", line[len(head) :]
        if _size(current + line) > budget:
            pages.append(current)
            current = ""
        current += line
    if current:
        pages.append(current)
    return [page.rstrip("\n") for page in pages if page.strip()]


def _fit(text: str, budget: int) -> str:
    cut = 0
    for i, ch in enumerate(text):
        budget -= _size(ch)
        if budget < 0:
            break
        cut = i + 1
    return text[:cut]


def with_more_hint(page: str, more_pending: bool) -> str:
    return page + MORE_HINT if more_pending else page


def _cdata_safe(text: str) -> str:
    # Text goes inside <![CDATA[...]]> verbatim; split any "]]>" across two CDATA sections.
    return _XML_ILLEGAL.sub("", text).replace("]]>", "]]]]><![CDATA[>")


# The passive replies, byte for byte as wechatpy 1.8's TextReply and ArticlesReply render them
# (WeChat's documented layout), filled in one step instead of through reply objects.
_TEXT = (
    "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[{content}]]></Content>\n"
    "<FromUserName><![CDATA[{account}]]></FromUserName>\n<ToUserName><![CDATA[{openid}]]></ToUserName>\n"
    "<CreateTime>{now}</CreateTime>\n</xml>"
)
_NEWS = (
    "<xml>\n<MsgType><![CDATA[news]]></MsgType>\n<ArticleCount>1</ArticleCount>\n        <Articles><item>\n"
    "            <Title><![CDATA[{title}]]></Title>\n"
    "            <Description><![CDATA[{description}]]></Description>\n"
    "            <PicUrl><![CDATA[{image}]]></PicUrl>\n"
    "            <Url><![CDATA[{url}]]></Url>\n"
    "            </item></Articles>\n"
    "<FromUserName><![CDATA[{account}]]></FromUserName>\n<ToUserName><![CDATA[{openid}]]></ToUserName>\n"
    "<CreateTime>{now}</CreateTime>\n</xml>"
)


def to_xml(reply: replies.Reply, openid: str, account: str) -> str:
    """The passive-reply body for `reply` ("success" when there is nothing to say)."""
    ids = {"account": _cdata_safe(account), "openid": _cdata_safe(openid), "now": int(time.time())}
    if isinstance(reply, replies.Text):
        return _TEXT.format(content=_cdata_safe(reply.content), **ids)
    if isinstance(reply, replies.News):
        a = reply.article
        texts = {"title": a.title, "description": a.description, "url": a.url, "image": a.image}
        return _NEWS.format(**{name: _cdata_safe(value) for name, value in texts.items()}, **ids)
    if isinstance(reply, replies.TransferToStaff):  # rare: wechatpy renders it
        return TransferCustomerServiceReply(source=account, target=openid).render()
    return SUCCESS
