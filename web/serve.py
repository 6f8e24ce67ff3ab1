"""Serve a built page (dist/web) on this machine, with the headers of its `_headers` file.

    python -m web.serve [dist/web] [--port 8000] [--no-isolation]      (make serve-web)

The page is static: any host serves it. This server is for trying it here and for its tests: it
listens on 127.0.0.1 only, and `--no-isolation` leaves out the two headers (COOP, COEP) that give
the page WebAssembly threads, to show that it works without them, on one thread.
"""

import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from runtime import cli
from runtime.errors import ToolkitError

HEADERS_FILE = "_headers"
ISOLATION = ("Cross-Origin-Opener-Policy", "Cross-Origin-Embedder-Policy")
TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".onnx": "application/octet-stream",
}


def read_headers(path: Path) -> list[tuple[str, str]]:
    """The headers for every path (`/*`) in a `_headers` file: `Name: value` lines, indented
    under the path they apply to; `#` starts a comment."""
    headers, applies = [], False
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            applies = line.strip() == "/*"
        elif applies:
            name, _, value = line.strip().partition(":")
            headers.append((name.strip(), value.strip()))
    return headers


class Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def __init__(self, *args, headers: list[tuple[str, str]], **kwargs):
        self.site_headers = headers
        super().__init__(*args, **kwargs)

    def end_headers(self):
        for name, value in self.site_headers:
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format, *args):  # quiet: a page load is dozens of requests
        pass


def serve(folder: Path, port: int, isolation: bool = True) -> ThreadingHTTPServer:
    """A server for folder on 127.0.0.1:port (0: any free port); call serve_forever() on it."""
    headers = [(n, v) for n, v in read_headers(folder / HEADERS_FILE) if isolation or n not in ISOLATION]
    handler = functools.partial(Handler, directory=str(folder), headers=headers)
    return ThreadingHTTPServer(("127.0.0.1", port), handler)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m web.serve", __doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=Path("dist/web"), help="the built page")
    parser.add_argument("--port", type=int, default=8000, help="0: any free port (default: 8000)")
    parser.add_argument(
        "--no-isolation",
        dest="isolation",
        action="store_false",
        help="leave out COOP and COEP: one WebAssembly thread",
    )
    return cli.run(serve_cli, parser, argv)


def serve_cli(args) -> int:
    if not (args.folder / "index.html").is_file() or not (args.folder / HEADERS_FILE).is_file():
        raise ToolkitError(
            args.folder, f"not a built page (no index.html and {HEADERS_FILE}); run `make web`"
        )
    try:
        server = serve(args.folder, args.port, args.isolation)
    except OSError as e:
        raise ToolkitError(f"127.0.0.1:{args.port}", f"cannot listen there ({e.strerror})") from None
    threads = "threads on (cross-origin isolated)" if args.isolation else "one thread (no COOP/COEP)"
    print(f"serving {args.folder} at http://127.0.0.1:{server.server_port}/ : {threads}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # Ctrl-C is how a person stops it: a normal end
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
