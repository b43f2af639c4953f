"""gunicorn's settings, read from the working directory by `gunicorn … wsgi:app`.

The access log records the path without its query string (`%(U)s`, never `%(r)s` or `%(q)s`) and
no referer (`%(f)s` carries the previous page's query string): a plate or a phone in a query
string must not reach a log (personal information, docs/privacy.md)."""

import gc
import os

import gunicorn.util

# The serving settings the benchmarks measured (docs/benchmarks.md, "Serving settings"); the
# benchmarks start gunicorn with this file too. Command-line options override them.
# - workers: one per core. The handlers are CPU-bound Python, so a worker per core is what keeps
#   the cores busy; more workers only share the same cores (and each holds its own pool of
#   database connections). WEB_CONCURRENCY sets it per machine.
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 2))
# - gthread with 2 threads: a thread waits on PostgreSQL while the other computes, and a slow
#   request (a photo to decode, a month's report) does not stop the worker. 4 threads share the
#   worker's GIL and raised p99 at the same throughput; 1 thread measured the same as 2.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# - keep-alive 30 s: gate scanners and plate cameras send a request every few seconds; reusing the
#   connection saves a TCP handshake per scan. Set it above the load balancer's idle timeout
#   to the upstream, or the balancer may reuse a connection gunicorn has just closed.
keepalive = 30
# - timeout 30 s: no request of the service takes more than a second; a worker silent for 30 s is
#   stuck and is restarted. graceful_timeout 30 s: in-flight requests finish on a restart.
timeout = 30
graceful_timeout = 30

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s "%(a)s"'

# Request heads. The application refuses a request line over 4,096 bytes (414) and header fields
# over 8,190 bytes each, 100 of them or 32 KB in all (431) in its own error shape
# (parking/request_limits.py). gunicorn answers its own limits with an HTML page of its own, so
# its limits sit above the application's, and the application is the one that refuses:
# - the request line: 8190, the largest gunicorn takes short of 0; 0 would be unlimited, and
#   gunicorn would then hold a request line of any length in memory while it waits for its end;
# - a header field: twice the application's limit (0 is not unlimited here: gunicorn reads it as
#   its default, 8190 with the line's CRLF counted, just below the application's limit);
# - the number of fields: twice the application's. gunicorn buffers at most
#   fields * (field size + 2) bytes of head per request, here about 3 MB.
limit_request_line = 8190
limit_request_field_size = 2 * 8190
limit_request_fields = 200


# Past those limits (a request line over 8190 bytes, a field over 16380, more than 200 fields) and
# for a request line or header it cannot parse, gunicorn answers before the application is asked,
# with an HTML page written by `gunicorn.util.write_error`. That writer is replaced here, in the
# master before the workers fork, by one that sends the one JSON error shape, built by the
# application (parking/request_limits.py: `refused_by_server`), in the default language.
_html_error = gunicorn.util.write_error
_app = None


def post_worker_init(worker):
    global _app
    _app = worker.wsgi  # the application this worker serves
    # What the worker has loaded by now (the application, its modules and libraries) lives as long
    # as the worker does: the garbage collector stops walking it. Left in, each full collection
    # walked some 200,000 objects and held the worker's GIL for 52 to 77 ms, a stall for every
    # request in the worker (docs/benchmarks.md, "The garbage collector").
    gc.collect()
    gc.freeze()


def _json_error(sock, status_int, reason, mesg):
    try:
        from parking.request_limits import refused_by_server

        body = refused_by_server(_app, status_int)
    except Exception:  # not this application (the benchmarks' bare one), or none loaded yet
        return _html_error(sock, status_int, reason, mesg)
    head = f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    gunicorn.util.write_nonblock(sock, head.encode("latin-1") + body)


gunicorn.util.write_error = _json_error
