"""Messages and the website chat (issue #4, item 4).

- Messengers and social networks post incoming messages to /api/v1/intake/messages/
  (signed like the generic telephony webhook; see `api.py`).
- The website chat: a script snippet (`views.widget_js`), a WebSocket per visitor and per
  operator page (`consumers.py`, Django Channels) and an HTTP polling fallback that works
  under plain WSGI (the embedded mode's waitress).

Every message is stored first (`services`), then broadcast (`realtime`), then processed
into a lead or onto the client's timeline by an idempotent job (`tasks`).
"""
