"""Finding and opening r1lab's records (NAME.jsonl, .jsonl.xz or .jsonl.gz) for the tools here."""
import gzip
import lzma
import os


def find(folder, name):
    """The path of folder/name as r1lab may have written it: plain (a run still going), xz, gzip
    (records of earlier versions). None if there is none."""
    for path in (os.path.join(folder, name + suffix) for suffix in ("", ".xz", ".gz")):
        if os.path.exists(path):
            return path
    return None


def open_text(path):
    """Opens a record for reading text, decompressing by its suffix."""
    opener = lzma.open if path.endswith(".xz") else gzip.open if path.endswith(".gz") else open
    return opener(path, "rt")
