"""``actionmail serve``: the small web service that keeps the promise each email's unsubscribe link makes.

- :mod:`actionmail.serve.app` — the ASGI application (Starlette): one-click unsubscribe (RFC 8058), the
  unsubscribe page with its undo, ``/healthz``; its limits, log lines and security headers.
- :mod:`actionmail.serve.members` — tokens in, members' statuses out and changed, in worker threads.
- :mod:`actionmail.serve.pages` — the pages, from ``templates/serve/`` through the emails' Jinja2 environment,
  in the organization's colours.
- :mod:`actionmail.serve.paths` — where it answers: the path of ``[email] unsubscribe_url``.
- :mod:`actionmail.serve.server` — uvicorn, as the command runs it.

It shares the preview's request limits (:mod:`actionmail.httpguard`) and the emails' templates and colours
(:mod:`actionmail.render.templates`); it imports no mail provider. Nothing here is imported until a command serves.
"""
