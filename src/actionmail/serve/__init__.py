"""``actionmail serve``: the small web service that keeps the promise each email's unsubscribe link makes.

- :mod:`actionmail.serve.app` — the ASGI application (Starlette): one-click unsubscribe (RFC 8058), the
  unsubscribe page with its undo, ``/healthz``; its limits, log lines and security headers.
- :mod:`actionmail.serve.members` — tokens in, members' statuses out and changed, in worker threads.
- :mod:`actionmail.serve.pages` — the pages, from ``templates/serve/`` through the emails' Jinja2 environment,
  in the organization's colours.
- :mod:`actionmail.serve.paths` — where it answers: the path of ``[email] unsubscribe_url``.
- :mod:`actionmail.serve.server` — uvicorn, as the command runs it.
- :mod:`actionmail.serve.signup` — the sign-up form and its confirmation link (double opt-in), with
  :mod:`~actionmail.serve.form` (its fields and signed values), :mod:`~actionmail.serve.mailer` (its emails,
  through the configured provider) and :mod:`~actionmail.serve.welcome` (the newsletter sent last, if asked for).

It shares the preview's request limits (:mod:`actionmail.httpguard`) and the emails' templates and colours
(:mod:`actionmail.render.templates`). A mail provider is imported only to send a sign-up's email, and the
rendering stack only for a welcome. Nothing here is imported until a command serves.
"""
