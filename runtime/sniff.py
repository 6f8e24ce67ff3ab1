"""What a file is, from its first bytes, for files that are not what their user thought: one place
that recognises web pages, text, git-lfs pointers, documents, archives and Keras files, used by both
the image reader and the model loader."""

HEAD_BYTES = 512  # read this much to decide

RUNTIME_ONLY = "the runtime runs the .tflite and .onnx exports (make export)"
SIGNATURES = (  # first bytes, what the file is
    (b"version https://git-lfs", "a git-lfs pointer, not the file itself; fetch it with `git lfs pull`"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", f"a zip archive (a Keras .keras model?); {RUNTIME_ONLY}"),
    (b"\x89HDF\r\n\x1a\n", f"an HDF5 file (a Keras .h5 model?); {RUNTIME_ONLY}"),
)


def read_head(path) -> bytes:
    with open(path, "rb") as f:
        return f.read(HEAD_BYTES)


def recognise(head: bytes) -> str | None:
    """What the bytes are when that is easy to tell (empty, a known signature, HTML, SVG, text),
    else None."""
    if not head:
        return "an empty file (0 bytes)"
    for signature, what in SIGNATURES:
        if head.startswith(signature):
            return what
    start = head.lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")) or (start[:1] == b"<" and b"<html" in start):
        return "an HTML page (a download that returned a web page?)"
    if b"<svg" in start:
        return "an SVG drawing (vector graphics)"
    if all(byte >= 32 or byte in b"\t\r\n" for byte in head) and is_utf8(head):
        return "a text file"
    return None


def is_utf8(head: bytes) -> bool:
    """UTF-8 text, allowing a character cut off at the end of the head."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return len(head) == HEAD_BYTES and e.start >= len(head) - 3
    return True
