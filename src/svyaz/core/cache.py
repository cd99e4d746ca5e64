"""A Redis cache that keeps Svyaz answering when Redis is down.

Django's RedisCache raises when Redis cannot be reached, which would turn every page that
touches the cache into a 500. This subclass treats an unreachable Redis as an empty cache:
reads miss (return the default), writes are dropped, `incr` starts counting again from
`delta`. Each failure is logged (at most one warning per cache instance every 30 s), and
the next call tries Redis again, so the cache is back as soon as Redis is.

Only outage errors are swallowed (connection refused or lost, timeouts, Redis still
loading its data); a wrong command or a wrong type still raises. Settings give the client
short socket timeouts so a Redis that hangs costs a second, not a worker.
"""

from __future__ import annotations

import logging
import time
from functools import wraps

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
WARN_EVERY_SECONDS = 30.0


def _tolerant(fallback):
    """Run the RedisCache method; on an outage error return `fallback(*args, **kwargs)`."""

    def decorate(method):
        @wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except OUTAGE_ERRORS as exc:
                self._warn(method.__name__, exc)
                return fallback(*args, **kwargs)

        return wrapper

    return decorate


def _default(key, default=None, *args, **kwargs):
    return default


def _nothing(*args, **kwargs):
    return None


def _false(*args, **kwargs):
    return False


def _empty(*args, **kwargs):
    return {}


def _no_keys_failed(data, *args, **kwargs):
    return list(data)  # set_many returns the keys it could not set


def _restart_count(key, delta=1, *args, **kwargs):
    return delta


class TolerantRedisCache(RedisCache):
    _last_warning = 0.0

    def _warn(self, operation: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning >= WARN_EVERY_SECONDS:
            self._last_warning = now
            log.warning("cache unavailable (%s): %s; going on without it", operation, exc)

    get = _tolerant(_default)(RedisCache.get)
    add = _tolerant(_false)(RedisCache.add)
    set = _tolerant(_nothing)(RedisCache.set)
    touch = _tolerant(_false)(RedisCache.touch)
    delete = _tolerant(_false)(RedisCache.delete)
    get_many = _tolerant(_empty)(RedisCache.get_many)
    has_key = _tolerant(_false)(RedisCache.has_key)
    incr = _tolerant(_restart_count)(RedisCache.incr)
    set_many = _tolerant(_no_keys_failed)(RedisCache.set_many)
    delete_many = _tolerant(_nothing)(RedisCache.delete_many)
    clear = _tolerant(_false)(RedisCache.clear)
