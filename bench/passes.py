"""Passes: µs to verify one pass offline (target ≤ 200 µs); ms to render a pass image the first
time and when cached; the QR version and token length of a real pass."""

from __future__ import annotations

import statistics
import time

from bench.common import emit, print_table


def main() -> dict:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from parking.passes import offline, services

    verify_runs = [offline.measure_verify_us(5000) for _ in range(3)]
    verify_us = statistics.median(verify_runs)

    private = Ed25519PrivateKey.generate()
    kid = offline.key_id(private.public_key().public_bytes_raw())
    now = int(time.time())
    tokens = [
        offline.sign(
            offline.PassClaims(
                offline.VERSION, kid, 1_000_000 + i, 42, "沪AD12345", now, now + 45_000, offline.new_nonce()
            ),
            private,
        )
        for i in range(20)
    ]
    first_png, cached_png, first_svg, cached_svg = [], [], [], []
    for token in tokens:
        for render, first, cached in (
            (services.render_png, first_png, cached_png),
            (services.render_svg, first_svg, cached_svg),
        ):
            started = time.perf_counter()
            render(token)
            first.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            render(token)
            cached.append((time.perf_counter() - started) * 1000)
    version = services.qr(tokens[0]).version
    rows = [
        {"what": "verify one pass offline", "value": f"{verify_us:.1f} µs", "target": "≤ 200 µs"},
        {"what": "render PNG, first", "value": f"{statistics.median(first_png):.2f} ms", "target": ""},
        {"what": "render PNG, cached", "value": f"{statistics.median(cached_png):.4f} ms", "target": ""},
        {"what": "render SVG, first", "value": f"{statistics.median(first_svg):.2f} ms", "target": ""},
        {"what": "render SVG, cached", "value": f"{statistics.median(cached_svg):.4f} ms", "target": ""},
        {"what": "QR version (error correction M)", "value": str(version), "target": "≤ 10"},
        {"what": "token length", "value": f"{len(tokens[0])} chars", "target": ""},
    ]
    print_table("Passes", rows)
    return {
        "verify_us": round(verify_us, 1),
        "png_first_ms": round(statistics.median(first_png), 2),
        "png_cached_ms": round(statistics.median(cached_png), 4),
        "svg_first_ms": round(statistics.median(first_svg), 2),
        "svg_cached_ms": round(statistics.median(cached_svg), 4),
        "qr_version": version,
        "token_length": len(tokens[0]),
    }


if __name__ == "__main__":
    emit(main())
