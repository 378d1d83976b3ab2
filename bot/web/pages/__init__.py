"""The pages people use in a browser, served by the same app as the webhook:

- /simulator: the bot in a WeChat-style chat window (only when SIMULATOR=1);
- /book: citizens book, look up and cancel a marriage-registration slot;
- /admin: the staff console.

Register `bot.web.pages.blueprint` on the app; it carries the others, the templates and static files.
"""

from bot.web.pages import admin, admin_calendar, admin_reports, book, login, simulator, web

blueprint = web.blueprint
for _child in (simulator, book, login, admin, admin_calendar, admin_reports):
    blueprint.register_blueprint(_child.blueprint)
